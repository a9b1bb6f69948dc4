package acl

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/buntstore"
	"github.com/wharfhq/wharf/internal/testenv"
)

func openBunt(t *testing.T) store.Store { return openBuntB(t) }

func openBuntB(t testing.TB) store.Store {
	t.Helper()
	s, err := buntstore.Open(buntstore.Options{Path: ":memory:", SweepInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// startSet starts a BanSet over st and waits for its first list.
func startSet(t *testing.T, st store.Store, opts BanSetOptions) *BanSet {
	t.Helper()
	if opts.MinBackoff == 0 {
		opts.MinBackoff = 20 * time.Millisecond
		opts.MaxBackoff = 200 * time.Millisecond
	}
	s, err := NewBanSet(opts, st)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-s.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("ban set not ready")
	}
	return s
}

func newManager(t *testing.T, st store.Store) *BanManager {
	t.Helper()
	m, err := NewBanManager(BanManagerOptions{}, st)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func bannedErr(s *BanSet, addr string, want bool) func() error {
	a := netip.MustParseAddr(addr)
	return func() error {
		if _, got := s.Banned(a); got != want {
			return fmt.Errorf("Banned(%s) = %v, want %v", addr, got, want)
		}
		return nil
	}
}

var (
	pfx = netip.MustParsePrefix
	ip  = netip.MustParseAddr
)

func TestBanLifecycleBunt(t *testing.T) {
	st := openBunt(t)
	m := newManager(t, st)
	ctx := t.Context()
	// A ban that exists before the set starts is picked up by the list.
	if _, err := m.Ban(ctx, pfx("198.51.100.7/32"), time.Hour, "pre", "ops"); err != nil {
		t.Fatal(err)
	}
	s := startSet(t, st, BanSetOptions{})
	testenv.Eventually(t, time.Second, bannedErr(s, "198.51.100.7", true))

	b, err := m.Ban(ctx, pfx("2001:db8:1:2::/64"), time.Hour, "scanner", "alice")
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Second, bannedErr(s, "2001:db8:1:2:ffff::1", true))
	if got, _ := s.Banned(ip("2001:db8:1:2::42")); got.Reason != "scanner" || got.CreatedBy != "alice" || got.Prefix != b.Prefix {
		t.Fatalf("ban = %+v", got)
	}
	for _, a := range []string{"2001:db8:1:3::1", "198.51.100.8"} {
		if _, ok := s.Banned(ip(a)); ok {
			t.Errorf("%s banned", a)
		}
	}

	// Mapped IPv4 in a ban request and in a lookup.
	if _, err := m.Ban(ctx, pfx("::ffff:203.0.113.0/120"), time.Hour, "mapped", "ops"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Second, bannedErr(s, "::ffff:203.0.113.9", true))
	testenv.Eventually(t, time.Second, bannedErr(s, "203.0.113.9", true))

	list, err := m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("list = %+v", list)
	}
	for _, b := range list {
		if b.Reason == "" || b.CreatedBy == "" || b.ExpiresAt.Sub(b.CreatedAt) != time.Hour || b.Auto {
			t.Errorf("listed ban %+v", b)
		}
	}

	if err := m.Unban(ctx, pfx("2001:db8:1:2::/64")); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Second, bannedErr(s, "2001:db8:1:2::1", false))
	if err := m.Unban(ctx, pfx("2001:db8:1:2::/64")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second unban: %v", err)
	}
	if s.Len() != 2 {
		t.Fatalf("Len = %d", s.Len())
	}
}

func TestBanTTLExpiry(t *testing.T) {
	st := openBunt(t)
	m := newManager(t, st)
	s := startSet(t, st, BanSetOptions{})
	if _, err := m.Ban(t.Context(), pfx("192.0.2.0/24"), 2*time.Second, "short", "ops"); err != nil {
		t.Fatal(err)
	}
	// The TTL is long enough that the ban cannot expire before it is first seen,
	// even on a loaded machine.
	testenv.Eventually(t, time.Second, bannedErr(s, "192.0.2.55", true))
	testenv.Eventually(t, 5*time.Second, bannedErr(s, "192.0.2.55", false))
	// The expire event itself arrives and removes the entry.
	testenv.Eventually(t, 5*time.Second, func() error {
		if n := s.Len(); n != 0 {
			return fmt.Errorf("Len = %d", n)
		}
		return nil
	})
	if list, err := m.List(t.Context()); err != nil || len(list) != 0 {
		t.Fatalf("list after expiry = %v, %v", list, err)
	}
}

// TestBanExpiredAtLookup checks ExpiresAt at lookup, before the expire event
// arrives, and that a covering live ban still matches then.
func TestBanExpiredAtLookup(t *testing.T) {
	st := openBunt(t)
	m := newManager(t, st)
	now := time.Now()
	clock := func() time.Time { return now }
	var offset time.Duration
	s := startSet(t, st, BanSetOptions{Now: func() time.Time { return clock().Add(offset) }})
	if _, err := m.Ban(t.Context(), pfx("10.0.0.0/8"), time.Hour, "wide", "ops"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Ban(t.Context(), pfx("10.1.1.1/32"), time.Minute, "narrow", "ops"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Second, func() error {
		if b, ok := s.Banned(ip("10.1.1.1")); !ok || b.Reason != "narrow" {
			return fmt.Errorf("got %+v %v", b, ok)
		}
		return nil
	})
	offset = 2 * time.Minute // the /32 has expired, the /8 has not
	if b, ok := s.Banned(ip("10.1.1.1")); !ok || b.Reason != "wide" {
		t.Fatalf("after narrow expiry: %+v %v", b, ok)
	}
	offset = 2 * time.Hour
	if b, ok := s.Banned(ip("10.1.1.1")); ok {
		t.Fatalf("after both expired: %+v", b)
	}
}

func TestRouteBans(t *testing.T) {
	st := openBunt(t)
	m := newManager(t, st)
	s := startSet(t, st, BanSetOptions{})
	if _, err := m.BanWith(t.Context(), BanRequest{Prefix: pfx("192.0.2.1/32"), TTL: time.Hour, Reason: "r", By: "ops", Route: "shop/api"}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Second, func() error {
		if _, ok := s.BannedOn("shop/api", ip("192.0.2.1")); !ok {
			return errors.New("route ban not visible")
		}
		return nil
	})
	if _, ok := s.Banned(ip("192.0.2.1")); ok {
		t.Error("route ban matched globally")
	}
	if _, ok := s.BannedOn("other", ip("192.0.2.1")); ok {
		t.Error("route ban matched on another route")
	}
	if err := m.UnbanRoute(t.Context(), "shop/api", pfx("192.0.2.1/32")); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Second, func() error {
		if _, ok := s.BannedOn("shop/api", ip("192.0.2.1")); ok {
			return errors.New("route ban still visible")
		}
		return nil
	})
}

func TestAutoBanDoesNotShorten(t *testing.T) {
	st := openBunt(t)
	m := newManager(t, st)
	long, err := m.Ban(t.Context(), pfx("192.0.2.9/32"), time.Hour, "manual", "ops")
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.BanWith(t.Context(), BanRequest{Prefix: pfx("192.0.2.9/32"), TTL: time.Minute, Reason: "auto", By: "auto", Auto: true})
	if err != nil {
		t.Fatal(err)
	}
	if got.Reason != "manual" || !got.ExpiresAt.Equal(long.ExpiresAt) {
		t.Fatalf("auto ban replaced a longer one: %+v", got)
	}
}

func TestBanInvalid(t *testing.T) {
	m := newManager(t, openBunt(t))
	if _, err := m.Ban(t.Context(), pfx("10.0.0.0/8"), 0, "x", "y"); err == nil {
		t.Error("zero TTL accepted")
	}
	if _, err := m.Ban(t.Context(), netip.Prefix{}, time.Hour, "x", "y"); err == nil {
		t.Error("invalid prefix accepted")
	}
}

// TestBadValueIgnored writes junk under the prefix; the set skips it.
func TestBadValueIgnored(t *testing.T) {
	st := openBunt(t)
	if _, err := st.Put(t.Context(), DefaultBanPrefix+"g/junk", []byte("{"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	// Valid JSON under a key that does not match its prefix.
	if _, err := st.Put(t.Context(), DefaultBanPrefix+"g/1.1.1.1%2F32", []byte(`{"prefix":"0.0.0.0/0"}`), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	s := startSet(t, st, BanSetOptions{})
	if _, ok := s.Banned(ip("1.1.1.1")); ok || s.Len() != 0 {
		t.Fatalf("junk matched, Len %d", s.Len())
	}
}

func TestBannedZeroAllocs(t *testing.T) {
	st := openBunt(t)
	m := newManager(t, st)
	s := startSet(t, st, BanSetOptions{})
	if _, err := m.Ban(t.Context(), pfx("2001:db8::/64"), time.Hour, "x", "y"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Second, bannedErr(s, "2001:db8::5", true))
	hit, miss := ip("2001:db8::5"), ip("192.0.2.1")
	if n := testing.AllocsPerRun(1000, func() {
		_, _ = s.Banned(hit)
		_, _ = s.Banned(miss)
		_, _ = s.BannedOn("route", hit)
		_, _ = s.BannedOn("route", miss)
	}); n != 0 {
		t.Fatalf("%v allocs per lookup", n)
	}
}
