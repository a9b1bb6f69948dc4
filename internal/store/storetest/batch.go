package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/store"
)

// testBatch checks store.GetMany and store.CompareAndSwapMany (the
// engine's Batcher when it has one): entries in order with missing keys
// at version 0; every swap judged on its own — applied, conflict, not
// found, invalid key — with a version of its own, seen by Watch in
// order, and a TTL honoured.
func testBatch(t *testing.T, s store.Store) {
	if _, ok := s.(store.Batcher); !ok {
		t.Log("engine without store.Batcher: the per-key fallback is checked")
	}
	ctx := testCtx(t)
	va := mustPut(t, s, "batch/a", "a1", store.PutOptions{})
	vb := mustPut(t, s, "batch/b", "b1", store.PutOptions{})
	got, err := store.GetMany(ctx, s, []string{"batch/a", "batch/missing", "batch/b"})
	if err != nil {
		t.Fatalf("GetMany: %v", err)
	}
	if len(got) != 3 || got[0].Key != "batch/a" || string(got[0].Value) != "a1" || got[0].Version != va ||
		got[1].Key != "batch/missing" || got[1].Version != 0 || got[1].Value != nil ||
		got[2].Key != "batch/b" || string(got[2].Value) != "b1" || got[2].Version != vb {
		t.Fatalf("GetMany: %+v", got)
	}
	if _, err := store.GetMany(ctx, s, []string{"batch/a", ""}); !errors.Is(err, store.ErrInvalidKey) {
		t.Fatalf("GetMany with an empty key: %v", err)
	}

	rev, err := s.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch, err := s.Watch(wctx, "batch/", rev)
	if err != nil {
		t.Fatal(err)
	}
	res, err := store.CompareAndSwapMany(ctx, s, []store.Swap{
		{Key: "batch/a", Expect: va, Value: []byte("a2")},
		{Key: "batch/new", Expect: 0, Value: []byte("n1"), Opts: store.PutOptions{TTL: time.Hour}},
		{Key: "batch/b", Expect: vb + 1000, Value: []byte("b2")},
		{Key: "batch/gone", Expect: 7, Value: []byte("g")},
		{Key: "batch/b", Expect: 0, Value: []byte("b3")},
	})
	if err != nil {
		t.Fatalf("CompareAndSwapMany: %v", err)
	}
	if len(res) != 5 || res[0].Err != nil || res[1].Err != nil || res[0].Version <= rev || res[1].Version <= res[0].Version ||
		!errors.Is(res[2].Err, store.ErrConflict) || !errors.Is(res[3].Err, store.ErrNotFound) || !errors.Is(res[4].Err, store.ErrConflict) {
		t.Fatalf("CompareAndSwapMany: %+v", res)
	}
	for _, c := range []change{{store.EventPut, "batch/a", []byte("a2"), res[0].Version}, {store.EventPut, "batch/new", []byte("n1"), res[1].Version}} {
		if err := c.check(next(t, ch)); err != nil {
			t.Fatal(err)
		}
	}
	// The batch's revisions are the store's: the next write comes after them.
	if cur, err := s.Revision(ctx); err != nil || cur != res[1].Version {
		t.Fatalf("revision after the batch: %d %v, want %d", cur, err, res[1].Version)
	}
	if v, err := s.Put(ctx, "batch/after", []byte("x"), store.PutOptions{}); err != nil || v != res[1].Version+1 {
		t.Fatalf("write after the batch: version %d %v, want %d", v, err, res[1].Version+1)
	}
	if e, err := s.Get(ctx, "batch/b"); err != nil || string(e.Value) != "b1" || e.Version != vb {
		t.Fatalf("a conflicting swap changed b: %+v %v", e, err)
	}
	if e, err := s.Get(ctx, "batch/new"); err != nil || e.Version != res[1].Version || e.ExpiresAt.IsZero() {
		t.Fatalf("new key: %+v %v", e, err)
	}
	if _, err := s.Get(ctx, "batch/gone"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a swap of a missing key created it: %v", err)
	}
	// An invalid key fails alone.
	res, err = store.CompareAndSwapMany(ctx, s, []store.Swap{{Key: "", Value: []byte("x")}, {Key: "batch/a", Expect: res[0].Version, Value: []byte("a3")}})
	if err != nil || len(res) != 2 || !errors.Is(res[0].Err, store.ErrInvalidKey) || res[1].Err != nil {
		t.Fatalf("swap with an invalid key: %+v %v", res, err)
	}
}
