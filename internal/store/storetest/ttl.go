package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/testenv"
)

func testTTL(t *testing.T, s store.Store) {
	ctx := testCtx(t)
	rev0 := mustRevision(t, s)
	w := mustWatch(t, ctx, s, "ttl/", rev0)

	const ttl = time.Second // long enough that a loaded machine reads the key before it expires
	before := time.Now()
	va := mustPut(t, s, "ttl/a", "short", store.PutOptions{TTL: ttl})
	vk := mustPut(t, s, "ttl/keep", "forever", store.PutOptions{})
	vb1 := mustPut(t, s, "ttl/b", "short", store.PutOptions{TTL: ttl})
	vb2 := mustPut(t, s, "ttl/b", "now forever", store.PutOptions{})

	e, err := s.Get(ctx, "ttl/a")
	if err != nil {
		t.Fatalf("Get before expiry: %v", err)
	}
	if e.ExpiresAt.Before(before.Add(ttl-50*time.Millisecond)) || e.ExpiresAt.After(time.Now().Add(ttl+50*time.Millisecond)) {
		t.Fatalf("ExpiresAt %v not about %v after %v", e.ExpiresAt, ttl, before)
	}
	if e, err := s.Get(ctx, "ttl/b"); err != nil || !e.ExpiresAt.IsZero() {
		t.Fatalf("Put without TTL must clear the expiry: %+v, %v", e, err)
	}

	testenv.Eventually(t, expiryTimeout, func() error {
		if _, err := s.Get(ctx, "ttl/a"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("Get of expired key: want ErrNotFound, got %v", err)
		}
		return nil
	})
	if got := keysOf(listAll(t, s, "ttl/", 0)); !slices.Equal(got, []string{"ttl/b", "ttl/keep"}) {
		t.Fatalf("List after expiry: %q", got)
	}

	want := []change{
		{typ: store.EventPut, key: "ttl/a", value: []byte("short"), rev: va},
		{typ: store.EventPut, key: "ttl/keep", value: []byte("forever"), rev: vk},
		{typ: store.EventPut, key: "ttl/b", value: []byte("short"), rev: vb1},
		{typ: store.EventPut, key: "ttl/b", value: []byte("now forever"), rev: vb2},
	}
	for _, c := range want {
		if err := c.check(next(t, w)); err != nil {
			t.Fatal(err)
		}
	}
	ev := next(t, w)
	if ev.Err != nil || ev.Type != store.EventExpire || ev.Key != "ttl/a" || ev.Value != nil || ev.Revision <= vb2 {
		t.Fatalf("want expire event of ttl/a after revision %d, got %+v", vb2, ev)
	}

	// The expired key is gone for every operation: create-only succeeds, Delete finds nothing.
	if _, err := s.Delete(ctx, "ttl/a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Delete of expired key: want ErrNotFound, got %v", err)
	}
	vc, err := s.CompareAndSwap(ctx, "ttl/a", 0, []byte("again"), store.PutOptions{TTL: time.Hour})
	if err != nil {
		t.Fatalf("create-only CAS on expired key: %v", err)
	}
	if e, err := s.Get(ctx, "ttl/a"); err != nil || e.Version != vc || e.ExpiresAt.Before(time.Now().Add(50*time.Minute)) {
		t.Fatalf("re-created key: %+v, %v", e, err)
	}
	if err := (change{typ: store.EventPut, key: "ttl/a", value: []byte("again"), rev: vc}).check(next(t, w)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "ttl/b"); err != nil {
		t.Fatalf("key whose TTL was cleared expired: %v", err)
	}
}

// testTTLNeverExpired reads keys around their expiry: no read may return a key
// past its ExpiresAt, and a key whose expiry passed without a sweep yet is
// treated as gone by writes.
func testTTLNeverExpired(t *testing.T, s store.Store) {
	ctx := testCtx(t)
	const skew = 5 * time.Millisecond
	for i := range 5 {
		key := fmt.Sprintf("ttlx/%d", i)
		mustPut(t, s, key, "v", store.PutOptions{TTL: 40 * time.Millisecond})
		for {
			before := time.Now()
			e, err := s.Get(ctx, key)
			if errors.Is(err, store.ErrNotFound) {
				break
			}
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if e.ExpiresAt.Add(skew).Before(before) {
				t.Fatalf("Get returned %q at %v, expired at %v", key, before, e.ExpiresAt)
			}
			p, err := s.List(ctx, "ttlx/", store.ListOptions{})
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			for _, le := range p.Entries {
				if le.ExpiresAt.Add(skew).Before(before) {
					t.Fatalf("List returned %q at %v, expired at %v", le.Key, before, le.ExpiresAt)
				}
			}
		}
	}
	// Overwriting right after expiry, before any sweep, must behave as a create.
	mustPut(t, s, "ttlx/cas", "v", store.PutOptions{TTL: 20 * time.Millisecond})
	testenv.Eventually(t, expiryTimeout, func() error {
		_, err := s.CompareAndSwap(ctx, "ttlx/cas", 0, []byte("new"), store.PutOptions{})
		return err
	})
}
