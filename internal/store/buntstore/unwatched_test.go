package buntstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/buntstore"
)

// An unwatched store keeps the key-value contract (versions that grow,
// compare-and-swap, batches, listing, persistence across a reopen) and
// refuses watches and TTLs by name.
func TestUnwatchedStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "states.db")
	s := openTest(t, buntstore.Options{Path: path, Unwatched: true})
	v1, err := s.Put(ctx, "states/a", []byte("1"), store.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := s.CompareAndSwap(ctx, "states/a", v1, []byte("2"), store.PutOptions{})
	if err != nil || v2 <= v1 {
		t.Fatalf("swap: %d %v", v2, err)
	}
	if _, err := s.CompareAndSwap(ctx, "states/a", v1, []byte("x"), store.PutOptions{}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale swap: %v", err)
	}
	res, err := store.CompareAndSwapMany(ctx, s, []store.Swap{
		{Key: "states/a", Expect: v2, Value: []byte("3")},
		{Key: "states/b", Value: []byte("b")},
		{Key: "states/a", Expect: v2, Value: []byte("lost")},
		{Key: "states/missing", Expect: 5, Value: []byte("lost")},
		{Key: "states/b", Value: []byte("lost")},
	})
	if err != nil || res[0].Err != nil || res[1].Err != nil || !errors.Is(res[2].Err, store.ErrConflict) || res[1].Version <= res[0].Version || res[0].Version <= v2 ||
		!errors.Is(res[3].Err, store.ErrNotFound) || !errors.Is(res[4].Err, store.ErrConflict) {
		t.Fatalf("batch: %+v %v", res, err)
	}
	// A swap that lost left what was there (the record is written first
	// and put back): the value, the version, and no key for a missing one.
	for key, want := range map[string]string{"states/a": "3", "states/b": "b"} {
		if e, err := s.Get(ctx, key); err != nil || string(e.Value) != want {
			t.Fatalf("%s after lost swaps: %+v %v, want %q", key, e, err, want)
		}
	}
	if e, _ := s.Get(ctx, "states/a"); e.Version != res[0].Version {
		t.Fatalf("states/a at version %d after a lost swap, want %d", e.Version, res[0].Version)
	}
	if _, err := s.Get(ctx, "states/missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a lost swap of a missing key created it: %v", err)
	}
	if rev, err := s.Revision(ctx); err != nil || rev != res[1].Version {
		t.Fatalf("revision %d %v, want %d", rev, err, res[1].Version)
	}
	if _, err := s.Put(ctx, "states/ttl", []byte("x"), store.PutOptions{TTL: time.Minute}); !errors.Is(err, buntstore.ErrUnwatched) {
		t.Fatalf("a TTL write: %v, want ErrUnwatched", err)
	}
	if _, err := s.Watch(ctx, "states/", 0); !errors.Is(err, buntstore.ErrUnwatched) {
		t.Fatalf("watch: %v, want ErrUnwatched", err)
	}
	if _, err := s.CompareAndDelete(ctx, "states/b", res[1].Version); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	re := openTest(t, buntstore.Options{Path: path, Unwatched: true})
	e, err := re.Get(ctx, "states/a")
	if err != nil || string(e.Value) != "3" || e.Version != res[0].Version {
		t.Fatalf("after reopen: %+v %v", e, err)
	}
	if _, err := re.Get(ctx, "states/b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted key after reopen: %v", err)
	}
	page, err := re.List(ctx, "states/", store.ListOptions{})
	if err != nil || len(page.Entries) != 1 {
		t.Fatalf("list: %+v %v", page, err)
	}
	if v, err := re.Put(ctx, "states/c", []byte("c"), store.PutOptions{}); err != nil || v <= res[1].Version {
		t.Fatalf("a write after reopen: version %d %v, want > %d", v, err, res[1].Version)
	}
}
