package tenancy_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/buntstore"
	"github.com/wharfhq/wharf/internal/store/redisstore"
	"github.com/wharfhq/wharf/internal/tenancy"
	"github.com/wharfhq/wharf/internal/testenv"
)

// stores returns the two real store engines.
func stores(t *testing.T) map[string]store.Store {
	bs, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bs.Close() })
	r := testenv.StartRedis(t)
	rs, err := redisstore.Open(context.Background(), redisstore.Options{Addr: r.Addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rs.Close() })
	return map[string]store.Store{"buntdb": bs, "redis": rs}
}

// TestBindHostRace: of many agent tokens binding one host at once, exactly
// one wins; the others get ErrHostTaken, and the winner keeps it.
func TestBindHostRace(t *testing.T) {
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			h := tenancy.New(st, tenancy.Options{})
			ctx := context.Background()
			const n = 16
			ids := make([]string, n+1)
			for i := range ids {
				tok, _, err := auth.NewService(st).Create(ctx, auth.CreateRequest{Name: fmt.Sprintf("a%d", i), Scopes: []string{auth.ScopeAgent}, CreatedBy: "test"})
				if err != nil {
					t.Fatal(err)
				}
				ids[i] = tok.ID
			}
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() { _, errs[i] = h.BindHost(ctx, "h1", ids[i], "10.0.0.1", nil) })
			}
			wg.Wait()
			won := -1
			for i, err := range errs {
				switch {
				case err == nil && won >= 0:
					t.Fatalf("tokens %d and %d both bound h1", won, i)
				case err == nil:
					won = i
				case !errors.Is(err, tenancy.ErrHostTaken):
					t.Fatalf("token %d: %v", i, err)
				}
			}
			b, _, ok, err := h.Host(ctx, "h1")
			if err != nil || !ok || b.TokenID != ids[won] || b.Advertise != "10.0.0.1" {
				t.Fatalf("binding %+v %v %v, winner %d", b, ok, err, won)
			}
			// The winner cannot move its address; a release frees the host.
			if b, err := h.BindHost(ctx, "h1", b.TokenID, "10.0.0.2", nil); !errors.Is(err, tenancy.ErrAdvertiseFixed) || b.Advertise != "10.0.0.1" {
				t.Fatalf("rebind: %+v %v", b, err)
			}
			if ok, err := h.ReleaseHost(ctx, "h1"); !ok || err != nil {
				t.Fatalf("release: %v %v", ok, err)
			}
			if _, err := h.BindHost(ctx, "h1", ids[n], "10.0.0.3", nil); err != nil {
				t.Fatal(err)
			}
			// A binding to a token that no longer exists is free.
			if err := auth.NewService(st).Revoke(ctx, ids[n]); err != nil {
				t.Fatal(err)
			}
			if b, err := h.BindHost(ctx, "h1", ids[0], "10.0.0.4", nil); err != nil || b.TokenID != ids[0] {
				t.Fatalf("after the revoke: %+v %v", b, err)
			}
			if ok, err := h.Placed(ctx, "shop", "h1"); ok || err != nil {
				t.Fatalf("placed before a deploy: %v %v", ok, err)
			}
			if err := h.Place(ctx, "shop", "h1"); err != nil {
				t.Fatal(err)
			}
			if ok, err := h.Placed(ctx, "shop", "h1"); !ok || err != nil {
				t.Fatalf("not placed after a deploy: %v %v", ok, err)
			}
		})
	}
}

// TestBindHostKey: a host's event-signing key is recorded when it is
// bound (or by the first heartbeat with one, for a host bound without),
// stays when a heartbeat has none, and cannot change until the host is
// released.
func TestBindHostKey(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			h := tenancy.New(st, tenancy.Options{})
			ctx := context.Background()
			step := func(key []byte, wantErr error, wantKey []byte) {
				t.Helper()
				b, err := h.BindHost(ctx, "h1", "tok", "10.0.0.1", key)
				if !errors.Is(err, wantErr) || !bytes.Equal(b.PublicKey, wantKey) {
					t.Fatalf("BindHost(%x): %v, key %x; want %v, key %x", key, err, b.PublicKey, wantErr, wantKey)
				}
				if stored, _, _, _ := h.Host(ctx, "h1"); !bytes.Equal(stored.PublicKey, wantKey) {
					t.Fatalf("stored key %x, want %x", stored.PublicKey, wantKey)
				}
			}
			step(nil, nil, nil)
			step(k1, nil, k1)
			step(k1, nil, k1)
			step(nil, nil, k1)
			step(k2, tenancy.ErrKeyFixed, k1)
			if _, err := h.ReleaseHost(ctx, "h1"); err != nil {
				t.Fatal(err)
			}
			step(k2, nil, k2)
		})
	}
}
