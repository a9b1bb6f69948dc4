package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
)

func testBasic(t *testing.T, s store.Store) {
	ctx := testCtx(t)
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if _, err := s.Get(ctx, "basic/missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get missing: want ErrNotFound, got %v", err)
	}
	v1 := mustPut(t, s, "basic/a", "one", store.PutOptions{})
	if v1 == 0 {
		t.Fatal("Put returned version 0")
	}
	e, err := s.Get(ctx, "basic/a")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if e.Key != "basic/a" || string(e.Value) != "one" || e.Version != v1 || !e.ExpiresAt.IsZero() {
		t.Fatalf("Get: got %+v, want value one version %d no expiry", e, v1)
	}
	v2 := mustPut(t, s, "basic/a", "two", store.PutOptions{})
	if v2 <= v1 {
		t.Fatalf("second Put: version %d not above %d", v2, v1)
	}
	v3 := mustPut(t, s, "basic/b", "other", store.PutOptions{})
	if v3 <= v2 {
		t.Fatalf("Put of another key: version %d not above %d", v3, v2)
	}
	if e, err := s.Get(ctx, "basic/a"); err != nil || string(e.Value) != "two" || e.Version != v2 {
		t.Fatalf("Get after update: %+v, %v", e, err)
	}
	if rev := mustRevision(t, s); rev < v3 {
		t.Fatalf("Revision %d below last version %d", rev, v3)
	}

	// Binary and empty values round-trip.
	bin := make([]byte, 256)
	for i := range bin {
		bin[i] = byte(i)
	}
	mustPut(t, s, "basic/bin", string(bin), store.PutOptions{})
	if e, err := s.Get(ctx, "basic/bin"); err != nil || !bytes.Equal(e.Value, bin) {
		t.Fatalf("binary value: %q, %v", e.Value, err)
	}
	mustPut(t, s, "basic/empty", "", store.PutOptions{})
	if e, err := s.Get(ctx, "basic/empty"); err != nil || len(e.Value) != 0 {
		t.Fatalf("empty value: %q, %v", e.Value, err)
	}
	// Keys may hold any byte but NUL, up to 1024 bytes.
	odd := "basic/\xff\x01 ü/" + strings.Repeat("k", 1000)
	mustPut(t, s, odd, "odd", store.PutOptions{})
	if e, err := s.Get(ctx, odd); err != nil || string(e.Value) != "odd" {
		t.Fatalf("odd key: %+v, %v", e, err)
	}

	// The returned entry is the caller's to keep.
	e, _ = s.Get(ctx, "basic/a")
	e.Value[0] = 'X'
	if e2, _ := s.Get(ctx, "basic/a"); string(e2.Value) != "two" {
		t.Fatalf("modifying a returned value changed the store: %q", e2.Value)
	}

	rev, err := s.Delete(ctx, "basic/a")
	if err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if rev <= v3 {
		t.Fatalf("Delete revision %d not above %d", rev, v3)
	}
	if _, err := s.Get(ctx, "basic/a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get after Delete: want ErrNotFound, got %v", err)
	}
	if _, err := s.Delete(ctx, "basic/a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second Delete: want ErrNotFound, got %v", err)
	}
	if got := mustRevision(t, s); got < rev {
		t.Fatalf("Revision %d below delete revision %d", got, rev)
	}
	// A deleted key can be created again with a fresh version.
	if v := mustPut(t, s, "basic/a", "again", store.PutOptions{}); v <= rev {
		t.Fatalf("re-created key version %d not above delete revision %d", v, rev)
	}
}

func testInvalidKeys(t *testing.T, s store.Store) {
	ctx := testCtx(t)
	for _, key := range []string{"", "a\x00b", strings.Repeat("x", 1025)} {
		if _, err := s.Get(ctx, key); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("Get(%.20q): want ErrInvalidKey, got %v", key, err)
		}
		if _, err := s.Put(ctx, key, []byte("v"), store.PutOptions{}); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("Put(%.20q): want ErrInvalidKey, got %v", key, err)
		}
		if _, err := s.Delete(ctx, key); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("Delete(%.20q): want ErrInvalidKey, got %v", key, err)
		}
		if _, err := s.CompareAndSwap(ctx, key, 0, []byte("v"), store.PutOptions{}); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("CompareAndSwap(%.20q): want ErrInvalidKey, got %v", key, err)
		}
		if _, err := s.CompareAndDelete(ctx, key, 1); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("CompareAndDelete(%.20q): want ErrInvalidKey, got %v", key, err)
		}
	}
	if rev := mustRevision(t, s); rev != 0 {
		t.Errorf("invalid writes changed the revision to %d", rev)
	}
}

func testCAS(t *testing.T, s store.Store) {
	ctx := testCtx(t)
	v1, err := s.CompareAndSwap(ctx, "cas/a", 0, []byte("one"), store.PutOptions{})
	if err != nil {
		t.Fatalf("create-only CAS: %v", err)
	}
	if _, err := s.CompareAndSwap(ctx, "cas/a", 0, []byte("dup"), store.PutOptions{}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("create-only CAS on existing key: want ErrConflict, got %v", err)
	}
	v2, err := s.CompareAndSwap(ctx, "cas/a", v1, []byte("two"), store.PutOptions{})
	if err != nil {
		t.Fatalf("CAS on current version: %v", err)
	}
	if v2 <= v1 {
		t.Fatalf("CAS version %d not above %d", v2, v1)
	}
	if _, err := s.CompareAndSwap(ctx, "cas/a", v1, []byte("stale"), store.PutOptions{}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CAS on stale version: want ErrConflict, got %v", err)
	}
	if _, err := s.CompareAndSwap(ctx, "cas/a", v2+1000, []byte("future"), store.PutOptions{}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CAS on unknown version: want ErrConflict, got %v", err)
	}
	if e, err := s.Get(ctx, "cas/a"); err != nil || string(e.Value) != "two" || e.Version != v2 {
		t.Fatalf("after failed CAS: %+v, %v", e, err)
	}
	if _, err := s.CompareAndSwap(ctx, "cas/missing", 7, []byte("x"), store.PutOptions{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CAS on missing key: want ErrNotFound, got %v", err)
	}
	// Put bumps the version, so the old one no longer matches.
	v3 := mustPut(t, s, "cas/a", "three", store.PutOptions{})
	if _, err := s.CompareAndSwap(ctx, "cas/a", v2, []byte("x"), store.PutOptions{}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CAS after Put: want ErrConflict, got %v", err)
	}
	// After a delete, create-only succeeds again.
	if _, err := s.Delete(ctx, "cas/a"); err != nil {
		t.Fatal(err)
	}
	if v, err := s.CompareAndSwap(ctx, "cas/a", 0, []byte("four"), store.PutOptions{}); err != nil || v <= v3 {
		t.Fatalf("create-only CAS after delete: %d, %v", v, err)
	}
}

// testConcurrentCAS races 16 goroutines on one key, round after round:
// exactly one must win each round.
func testConcurrentCAS(t *testing.T, s store.Store) {
	const workers, rounds = 16, 40
	ctx := testCtx(t)
	key := "ccas/counter"
	ver := mustPut(t, s, key, "start", store.PutOptions{})
	for r := range rounds {
		// Odd rounds race create-only on a fresh key, even rounds race on a version.
		k, expect := key, ver
		if r%2 == 1 {
			k, expect = fmt.Sprintf("ccas/fresh/%d", r), 0
		}
		var wins atomic.Int32
		var winVer atomic.Uint64
		var winVal atomic.Value
		start := make(chan struct{})
		var wg sync.WaitGroup
		for g := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				val := []byte{byte(r), byte(g)}
				v, err := s.CompareAndSwap(ctx, k, expect, val, store.PutOptions{})
				switch {
				case err == nil:
					wins.Add(1)
					winVer.Store(v)
					winVal.Store(val)
				case !errors.Is(err, store.ErrConflict):
					t.Errorf("round %d worker %d: %v", r, g, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("round %d: %d winners, want exactly 1", r, n)
		}
		e, err := s.Get(ctx, k)
		if err != nil {
			t.Fatalf("round %d: Get: %v", r, err)
		}
		if e.Version != winVer.Load() || !bytes.Equal(e.Value, winVal.Load().([]byte)) {
			t.Fatalf("round %d: stored %+v, winner wrote %q@%d", r, e, winVal.Load(), winVer.Load())
		}
		if k == key {
			ver = e.Version
		}
	}
}

func testCompareAndDelete(t *testing.T, s store.Store) {
	ctx := testCtx(t)
	v1 := mustPut(t, s, "cad/a", "one", store.PutOptions{})
	v2 := mustPut(t, s, "cad/a", "two", store.PutOptions{})
	if _, err := s.CompareAndDelete(ctx, "cad/a", v1); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CompareAndDelete on stale version: want ErrConflict, got %v", err)
	}
	if _, err := s.CompareAndDelete(ctx, "cad/a", 0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CompareAndDelete expecting 0 on existing key: want ErrConflict, got %v", err)
	}
	if _, err := s.Get(ctx, "cad/a"); err != nil {
		t.Fatalf("key gone after failed CompareAndDelete: %v", err)
	}
	rev, err := s.CompareAndDelete(ctx, "cad/a", v2)
	if err != nil {
		t.Fatalf("CompareAndDelete on current version: %v", err)
	}
	if rev <= v2 {
		t.Fatalf("delete revision %d not above %d", rev, v2)
	}
	if _, err := s.Get(ctx, "cad/a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get after CompareAndDelete: want ErrNotFound, got %v", err)
	}
	if _, err := s.CompareAndDelete(ctx, "cad/a", v2); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CompareAndDelete on missing key: want ErrNotFound, got %v", err)
	}
}
