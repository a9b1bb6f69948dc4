package acl

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func startTracker(t *testing.T, opts TrackerOptions, b Banner) *Tracker {
	t.Helper()
	tr, err := NewTracker(opts, b)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = tr.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return tr
}

func TestTrackerAutoBan(t *testing.T) {
	st := openBunt(t)
	m := newManager(t, st)
	set := startSet(t, st, BanSetOptions{})
	clk := &fakeClock{t: time.Now()}
	const n, w = 5, 10 * time.Second
	tr := startTracker(t, TrackerOptions{Threshold: n, Window: w, BanFor: time.Hour, Now: clk.Now}, m)

	hit := func(addr string, times int, step time.Duration) (triggered int) {
		for range times {
			if tr.Hit(ip(addr)) {
				triggered++
			}
			clk.Add(step)
		}
		return triggered
	}
	// N-1 hits within W: no ban.
	if got := hit("192.0.2.10", n-1, time.Second); got != 0 {
		t.Fatalf("N-1 hits triggered %d", got)
	}
	// N hits spread beyond W (5 hits, 3 s apart = 12 s): no ban.
	if got := hit("192.0.2.20", n, 3*time.Second); got != 0 {
		t.Fatalf("hits spread beyond W triggered %d", got)
	}
	// N hits within W: ban, exactly once.
	if got := hit("192.0.2.30", n, time.Second); got != 1 {
		t.Fatalf("N hits within W triggered %d", got)
	}
	testenv.Eventually(t, 2*time.Second, bannedErr(set, "192.0.2.30", true))
	b, _ := set.Banned(ip("192.0.2.30"))
	if !b.Auto || b.CreatedBy != "auto" || b.Reason == "" || b.ExpiresAt.Sub(b.CreatedAt) != time.Hour {
		t.Fatalf("auto ban = %+v", b)
	}
	// Bans go through one queue in order: the earlier clients were not banned.
	for _, a := range []string{"192.0.2.10", "192.0.2.20"} {
		if _, ok := set.Banned(ip(a)); ok {
			t.Errorf("%s banned", a)
		}
	}
	// A client reaches N with its N-th hit inside W, and not before.
	if got := hit("192.0.2.40", n-1, time.Second); got != 0 {
		t.Fatalf("N-1 hits triggered %d", got)
	}
	if got := hit("192.0.2.40", 1, 0); got != 1 {
		t.Fatalf("N-th hit triggered %d", got)
	}
	testenv.Eventually(t, 2*time.Second, bannedErr(set, "192.0.2.40", true))
}

func TestTrackerIPv6Prefix(t *testing.T) {
	st := openBunt(t)
	m := newManager(t, st)
	set := startSet(t, st, BanSetOptions{})
	tr := startTracker(t, TrackerOptions{Threshold: 3, Window: time.Minute, BanFor: time.Hour}, m)
	// Three different addresses in one /64 count as one client.
	trig := 0
	for _, a := range []string{"2001:db8:5:6::1", "2001:db8:5:6::2", "2001:db8:5:6:ffff::3"} {
		if tr.Hit(ip(a)) {
			trig++
		}
	}
	if trig != 1 {
		t.Fatalf("triggered %d", trig)
	}
	testenv.Eventually(t, 2*time.Second, bannedErr(set, "2001:db8:5:6:abcd::1", true))
	if b, _ := set.Banned(ip("2001:db8:5:6::1")); b.Prefix != netip.MustParsePrefix("2001:db8:5:6::/64") {
		t.Fatalf("ban prefix %v", b.Prefix)
	}
}

func TestTrackerBounded(t *testing.T) {
	tr, err := NewTracker(TrackerOptions{Threshold: 100, Window: time.Minute, BanFor: time.Hour, MaxKeys: 320}, banFunc(nil))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10000 {
		tr.Hit(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
	if n := tr.Len(); n > 320 {
		t.Fatalf("tracking %d clients, max 320", n)
	}
	a := ip("10.9.9.9")
	tr.Hit(a) // start tracking
	if n := testing.AllocsPerRun(1000, func() { tr.Hit(a) }); n != 0 {
		t.Fatalf("%v allocs per Hit of a tracked client", n)
	}
}

type banFunc func(BanRequest) error

func (f banFunc) BanWith(_ context.Context, r BanRequest) (Ban, error) {
	if f == nil {
		return Ban{}, fmt.Errorf("no banner")
	}
	return Ban{Prefix: r.Prefix}, f(r)
}
