package acl

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/store"
)

// expiringStore is a real store in which the key an auto-ban read expires
// (is deleted) just before the ban's first compare-and-swap reaches it:
// the race of a ban ending while the tracker extends it.
type expiringStore struct {
	store.Store
	fired atomic.Bool
}

func (s *expiringStore) CompareAndSwap(ctx context.Context, key string, expect uint64, value []byte, opts store.PutOptions) (uint64, error) {
	if expect != 0 && s.fired.CompareAndSwap(false, true) {
		if _, err := s.Store.Delete(ctx, key); err != nil {
			return 0, err
		}
	}
	return s.Store.CompareAndSwap(ctx, key, expect, value, opts)
}

// TestAutoBanSurvivesExpiryRace: an auto-ban that extends a ban which
// expires between the read and the write bans anyway (it used to fail
// with "key not found").
func TestAutoBanSurvivesExpiryRace(t *testing.T) {
	t.Parallel()
	st := &expiringStore{Store: openBunt(t)}
	m := newManager(t, st)
	p := netip.MustParsePrefix("203.0.113.7/32")
	if _, err := m.BanWith(t.Context(), BanRequest{Prefix: p, TTL: time.Minute, Reason: "first", Auto: true}); err != nil {
		t.Fatal(err)
	}
	b, err := m.BanWith(t.Context(), BanRequest{Prefix: p, TTL: time.Hour, Reason: "again", Auto: true})
	if err != nil || b.Reason != "again" {
		t.Fatalf("extending a ban that expired meanwhile: %+v, %v", b, err)
	}
	if !st.fired.Load() {
		t.Fatal("the race was not forced")
	}
	bans, err := m.List(t.Context())
	if err != nil || len(bans) != 1 || bans[0].Reason != "again" {
		t.Fatalf("stored bans %+v, %v", bans, err)
	}
}
