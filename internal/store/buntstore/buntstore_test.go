package buntstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/buntstore"
	"github.com/wharfhq/wharf/internal/store/storetest"
	"github.com/wharfhq/wharf/internal/testenv"
)

func openTest(t *testing.T, opts buntstore.Options) *buntstore.Store {
	t.Helper()
	if opts.Path == "" {
		opts.Path = ":memory:"
	}
	s, err := buntstore.Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openTest(t, buntstore.Options{LogRetention: 1000})
	})
}

func TestConformanceOnDisk(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openTest(t, buntstore.Options{Path: filepath.Join(t.TempDir(), "store.db"), LogRetention: 1000})
	})
}

func TestOpenRequiresPath(t *testing.T) {
	if _, err := buntstore.Open(buntstore.Options{}); err == nil {
		t.Fatal("Open without Path succeeded")
	}
}

// TestReopen checks that data, revisions and the change log survive a restart.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := buntstore.Open(buntstore.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	v1, err := s.Put(ctx, "a", []byte("one"), store.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := s.Put(ctx, "b", []byte("two"), store.PutOptions{TTL: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, buntstore.Options{Path: path})
	e, err := s.Get(ctx, "a")
	if err != nil || string(e.Value) != "one" || e.Version != v1 {
		t.Fatalf("after reopen: %+v, %v", e, err)
	}
	w, err := s.Watch(ctx, "", store.FromNow)
	if err != nil {
		t.Fatal(err)
	}
	rev, err := s.Revision(ctx)
	if err != nil || rev != v2 {
		t.Fatalf("revision after reopen: %d, %v; want %d", rev, err, v2)
	}
	v3, err := s.Put(ctx, "c", []byte("three"), store.PutOptions{})
	if err != nil || v3 != v2+1 {
		t.Fatalf("Put after reopen: %d, %v; want %d", v3, err, v2+1)
	}
	// The key with a TTL still expires after the restart, with its event.
	testenv.Eventually(t, 10*time.Second, func() error {
		if _, err := s.Get(ctx, "b"); !errors.Is(err, store.ErrNotFound) {
			return errors.New("b has not expired")
		}
		return nil
	})
	wantTypes := []store.EventType{store.EventPut, store.EventExpire}
	for _, typ := range wantTypes {
		select {
		case ev := <-w:
			if ev.Type != typ {
				t.Fatalf("want %s event, got %+v", typ, ev)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s event", typ)
		}
	}
	// The change log from before the restart is still there.
	w2, err := s.Watch(context.Background(), "", 0+1)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-w2:
		if ev.Key != "b" || ev.Revision != v2 {
			t.Fatalf("replayed event %+v, want put of b@%d", ev, v2)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no replayed event")
	}
}

// TestRetentionAge keeps entries younger than LogRetentionAge beyond LogRetention.
func TestRetentionAge(t *testing.T) {
	ctx := t.Context()
	s := openTest(t, buntstore.Options{LogRetention: 10, LogRetentionAge: time.Hour})
	first, err := s.Put(ctx, "k", []byte("v"), store.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if _, err := s.Put(ctx, "k", []byte("v"), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	w, err := s.Watch(ctx, "", first)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-w:
		if ev.Err != nil || ev.Revision != first+1 {
			t.Fatalf("want event %d, got %+v", first+1, ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
	}
}

// TestBuntdbExpiryBackstop turns the sweeper off (in effect): buntdb's own
// expiry, through OnExpiredSync, must still remove the key and log EventExpire.
func TestBuntdbExpiryBackstop(t *testing.T) {
	ctx := t.Context()
	s := openTest(t, buntstore.Options{SweepInterval: time.Hour})
	w, err := s.Watch(ctx, "", store.FromNow)
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Put(ctx, "k", []byte("v"), store.PutOptions{TTL: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		if _, err := s.Get(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
			return errors.New("Get still returns the expired key")
		}
		return nil
	})
	for _, want := range []store.EventType{store.EventPut, store.EventExpire} {
		select {
		case ev := <-w:
			if ev.Type != want || ev.Key != "k" {
				t.Fatalf("want %s of k, got %+v", want, ev)
			}
			if want == store.EventExpire && ev.Revision != v+1 {
				t.Fatalf("expire revision %d, want %d", ev.Revision, v+1)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s event from buntdb's expiry", want)
		}
	}
}
