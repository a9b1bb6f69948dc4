package ratelimit

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func newReg() (*Registry, *clock) {
	c := &clock{}
	return NewRegistry(c.ms), c
}

func mustZone(t testing.TB, r *Registry, l Limit) *Zone {
	t.Helper()
	z, err := NewZone(l, Options{Registry: r})
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func mustSet(t testing.TB, zones ...*Zone) *Set {
	t.Helper()
	s, err := NewSet(zones...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func runSet(t *testing.T, s *Set, c *clock, keys [][]byte, steps []step) {
	t.Helper()
	for i, st := range steps {
		c.now = st.at
		d := s.Decide(keys)
		if d.Outcome != st.want || d.Delay != time.Duration(st.delay)*time.Millisecond {
			t.Errorf("step %d t=%d: got %v delay %v, want %v delay %dms", i+1, st.at, d.Outcome, d.Delay, st.want, st.delay)
		}
	}
}

// TestSetNginxTables runs the nginx timelines through a Set, alone and as the
// second zone of a Set whose first zone is skipped or never limits.
func TestSetNginxTables(t *testing.T) {
	t.Parallel()
	for _, tc := range nginxCases() {
		t.Run(tc.name, func(t *testing.T) {
			r, c := newReg()
			lim := tc.lim
			lim.Name = "z"
			z := mustZone(t, r, lim)
			runSet(t, mustSet(t, z), c, k1, tc.steps)

			r, c = newReg()
			free := mustZone(t, r, Limit{Name: "free", Rate: MaxRate, Burst: MaxBurst, Delay: NoDelay})
			z = mustZone(t, r, lim)
			// z is created after free, so it is locked second but listed first.
			runSet(t, mustSet(t, z, free), c, [][]byte{k1[0], []byte("h")}, tc.steps)
		})
	}
}

func TestSetCallerOrder(t *testing.T) {
	t.Parallel()
	r, _ := newReg()
	a := mustZone(t, r, Limit{Name: "a", Rate: 1000})
	b := mustZone(t, r, Limit{Name: "b", Rate: 1000, Burst: 1, Delay: NoDelay})
	s := mustSet(t, b, a) // b first although a has the lower table id
	if got := s.Zones(); got[0] != b || got[1] != a || s.Len() != 2 || s.Registry() != r {
		t.Fatalf("zones %v", got)
	}
	keys := [][]byte{[]byte("kb"), []byte("ka")}
	if d := s.Decide(keys); d.Outcome != Passed || d.Limit != 1 { // a has fewer remaining (0 < 1)
		t.Fatalf("%+v", d)
	}
	if d := s.Decide(keys); d.Outcome != Rejected || d.Limit != 1 {
		t.Fatalf("%+v", d)
	}
	// Only zone 0 (b) keyed: b's excess must still be 0 (nothing charged by the reject).
	if d := s.Decide([][]byte{[]byte("kb")}); d.Outcome != Passed || d.Limit != 0 || d.Excess != 1000 {
		t.Fatalf("%+v", d)
	}
	// Both reject: the first in caller order (b) is reported.
	if d := s.Decide(keys); d.Outcome != Rejected || d.Limit != 0 {
		t.Fatalf("%+v", d)
	}
	if got := s.PolicyField(); got != `"b";q=1;w=1, "a";q=1;w=1` {
		t.Fatalf("policy %s", got)
	}
}

// TestSharedZone: two routes (Sets) listing one zone consume one budget.
func TestSharedZone(t *testing.T) {
	t.Parallel()
	r, c := newReg()
	shared := mustZone(t, r, Limit{Name: "per_ip", Rate: 1000, Burst: 2, Delay: NoDelay})
	hostA := mustZone(t, r, Limit{Name: "host_a", Rate: 100000, Burst: 100, Delay: NoDelay})
	routeA := mustSet(t, hostA, shared)
	routeB := mustSet(t, shared)
	ip := []byte("192.0.2.1")
	if d := routeA.Decide([][]byte{[]byte("a.example"), ip}); d.Outcome != Passed {
		t.Fatalf("%+v", d)
	}
	if d := routeB.Decide([][]byte{ip}); d.Outcome != Passed || d.Excess != 1000 {
		t.Fatalf("%+v", d)
	}
	if d := routeA.Decide([][]byte{[]byte("a.example"), ip}); d.Outcome != Passed || d.Excess != 2000 {
		t.Fatalf("%+v", d)
	}
	if d := routeB.Decide([][]byte{ip}); d.Outcome != Rejected {
		t.Fatalf("budget not shared: %+v", d)
	}
	if d := routeA.Decide([][]byte{[]byte("a.example"), ip}); d.Outcome != Rejected || d.Limit != 1 {
		t.Fatalf("budget not shared: %+v", d)
	}
	c.now = 1000
	if d := routeB.Decide([][]byte{ip}); d.Outcome != Passed {
		t.Fatalf("%+v", d)
	}
	if shared.Len() != 1 || hostA.Len() != 1 {
		t.Fatalf("len %d %d", shared.Len(), hostA.Len())
	}
}

func TestZoneWith(t *testing.T) {
	t.Parallel()
	r, c := newReg()
	z := mustZone(t, r, Limit{Name: "z", Rate: 1000, Burst: 4, Delay: NoDelay})
	s := mustSet(t, z)
	for i := 0; i < 5; i++ {
		s.Decide(k1) // excess 4000
	}
	if d := s.Decide(k1); d.Outcome != Rejected {
		t.Fatalf("%+v", d)
	}
	// Reload: 10r/s, burst 2, delayed, status 503, renamed. State is kept:
	// at t=0 excess 4000 > 2000 → reject with the new status.
	z2, err := z.With(Limit{Name: "z2", Rate: 10000, Burst: 2, Status: 503})
	if err != nil {
		t.Fatal(err)
	}
	if !z2.SharesState(z) || z2.Name() != "z2" || z2.Limit().Status != 503 || z2.Policy() != `"z2";q=10;w=1` {
		t.Fatalf("%+v", z2.Limit())
	}
	s2 := mustSet(t, z2)
	if d := s2.Decide(k1); d.Outcome != Rejected || d.Status != 503 || d.Excess != 4000 {
		t.Fatalf("state lost on With: %+v", d)
	}
	// The new rate drains 10 per ms: at t=200 excess 4000-2000+1000 = 3000 > 2000.
	c.now = 200
	if d := s2.Decide(k1); d.Outcome != Rejected {
		t.Fatalf("%+v", d)
	}
	// At t=300: 4000-3000+1000 = 2000 → delayed (delay 0 default) by 200 ms.
	// At the old rate (1r/s) it would still be rejected.
	c.now = 300
	if d := s.Decide(k1); d.Outcome != Rejected {
		t.Fatalf("old view: %+v", d)
	}
	if d := s2.Decide(k1); d.Outcome != Delayed || d.Delay != 200*time.Millisecond || d.Excess != 2000 {
		t.Fatalf("new rate not applied: %+v", d)
	}
	// The old view sees the new state (excess 2000 at t=300) at its own rate.
	c.now = 1300
	if d := s.Decide(k1); d.Outcome != Passed || d.Excess != 2000 {
		t.Fatalf("old view: %+v", d)
	}
	// Empty name keeps the name; With validates.
	z3, err := z.With(Limit{Rate: 16})
	if err != nil || z3.Name() != "z" || z3.Limit().Status != 429 {
		t.Fatalf("%v %+v", err, z3)
	}
	if _, err := z.With(Limit{Rate: 0}); err == nil || !strings.HasPrefix(err.Error(), "cannot change rate limit zone") {
		t.Fatalf("err = %v", err)
	}
	// Sweep uses the view's rate: excess 3000 at t=1300 needs 4000 ms at
	// 1r/s but only 400 ms at 10r/s.
	s.Decide(k1) // t=1300: excess 2000-0+1000 = 3000
	c.now = 1700
	if n := z.Sweep(); n != 0 {
		t.Fatalf("swept %d at 1r/s", n)
	}
	if n := z2.Sweep(); n != 1 || z.Len() != 0 {
		t.Fatalf("swept %d at 10r/s, len %d", n, z.Len())
	}
	// A view and its origin cannot share one Set.
	if _, err := NewSet(z, z2); err == nil {
		t.Fatal("NewSet accepted two views of one table")
	}
}

func TestNewSetValidation(t *testing.T) {
	t.Parallel()
	r, _ := newReg()
	z := mustZone(t, r, Limit{Name: "a", Rate: 1000})
	other := mustZone(t, NewRegistry(nil), Limit{Name: "b", Rate: 1000})
	many := make([]*Zone, MaxLimits+1)
	for i := range many {
		many[i] = mustZone(t, r, Limit{Name: fmt.Sprint("z", i), Rate: 1000})
	}
	for i, zs := range [][]*Zone{nil, {nil}, {z, other}, {z, z}, many} {
		if _, err := NewSet(zs...); err == nil || !strings.HasPrefix(err.Error(), "cannot create rate limit set") {
			t.Errorf("%d: err = %v", i, err)
		}
	}
	if _, err := NewSet(many[:MaxLimits]...); err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		l    Limit
		opts Options
	}{
		{Limit{Rate: 1000}, Options{}}, // no name
		{Limit{Name: "x", Rate: 0}, Options{}},
		{Limit{Name: "x", Rate: 1000, Status: 200}, Options{}},
		{Limit{Name: `x"`, Rate: 1000}, Options{}},
		{Limit{Name: "x", Rate: 1000}, Options{MaxKeys: -1}},
		{Limit{Name: "x", Rate: 1000}, Options{Registry: r, Clock: func() int64 { return 0 }}},
	} {
		if _, err := NewZone(tc.l, tc.opts); err == nil || !strings.HasPrefix(err.Error(), "cannot create rate limit zone") {
			t.Errorf("zone %d: err = %v", i, err)
		}
	}
	// A zone with its own registry and clock works on its own.
	c := &clock{now: 5}
	own, err := NewZone(Limit{Name: "own", Rate: 1000}, Options{Clock: c.ms, MaxKeys: 10})
	if err != nil || own.Registry().Now() != 5 {
		t.Fatal(err)
	}
	// New can join a Registry: its zones then combine with others.
	l, err := New([]Limit{{Rate: 1000}}, Options{Registry: r})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewSet(append(l.Set().Zones(), z)...); err != nil {
		t.Fatal(err)
	}
	if _, err := New([]Limit{{Rate: 1000}}, Options{Registry: r, Clock: c.ms}); err == nil {
		t.Fatal("New accepted a Registry and a Clock")
	}
}

// TestSetLockOrder decides Sets [A,B], [B,A], [B,C,A] and [C,A] from many
// goroutines on the same keys (so the same shards) under contention. Locking
// in caller order would deadlock; the run is bounded by iterations.
func TestSetLockOrder(t *testing.T) {
	t.Parallel()
	r := NewRegistry(nil)
	a := mustZone(t, r, Limit{Name: "a", Rate: 1000000, Burst: 1000, Delay: NoDelay})
	b := mustZone(t, r, Limit{Name: "b", Rate: 1000000, Burst: 1000, Delay: NoDelay})
	cz := mustZone(t, r, Limit{Name: "c", Rate: 1000, Burst: 5, Delay: NoDelay})
	sets := []*Set{mustSet(t, a, b), mustSet(t, b, a), mustSet(t, b, cz, a), mustSet(t, cz, a)}
	keySets := [][][]byte{
		{[]byte("k"), []byte("k")},
		{[]byte("k"), []byte("k")},
		{[]byte("k"), []byte("k"), []byte("k")},
		{[]byte("k"), []byte("k")},
	}
	const goroutines, iters = 16, 3000
	done := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, keys := sets[g%len(sets)], keySets[g%len(sets)]
			for i := 0; i < iters; i++ {
				s.Decide(keys)
				if i%64 == 0 {
					a.Sweep() // sweeps lock shards too
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute): // a watchdog, not the test's bound
		t.Fatal("deadlock: Sets with zones in different orders did not finish")
	}
	// One key per zone at most (a sweep or an all-rejected run may leave none).
	if a.Len() > 1 || b.Len() > 1 || cz.Len() > 1 {
		t.Fatalf("len %d %d %d", a.Len(), b.Len(), cz.Len())
	}
}

func TestSetHeaders(t *testing.T) {
	r, _ := newReg()
	slow := mustZone(t, r, Limit{Name: "slow", Rate: mustRate(t, "30r/m")})
	perIP := mustZone(t, r, Limit{Name: "per_ip", Rate: mustRate(t, "10r/s"), Burst: 4, Delay: NoDelay})
	s := mustSet(t, perIP, slow)
	if got := s.PolicyField(); got != `"per_ip";q=10;w=1, "slow";q=30;w=60` {
		t.Fatalf("policy: %s", got)
	}
	d := s.Decide([][]byte{[]byte("a")})
	if got := s.RateLimitField(d); got != `"per_ip";r=4;t=1` {
		t.Fatalf("%s %+v", got, d)
	}
	d = s.Decide([][]byte{[]byte("a"), []byte("b")})
	if got := s.RateLimitField(d); got != `"slow";r=0;t=2` {
		t.Fatalf("%s %+v", got, d)
	}
	d = s.Decide([][]byte{nil, []byte("b")})
	if got := s.RateLimitField(d); d.Outcome != Rejected || got != `"slow";r=0;t=2` || d.RetryAfterSeconds() != 2 {
		t.Fatalf("%s %+v", got, d)
	}
	if got := s.RateLimitField(Decision{Limit: -1}); got != "" {
		t.Fatalf("%q", got)
	}
	if got := s.RateLimitField(Decision{Limit: 2}); got != "" {
		t.Fatalf("%q", got)
	}
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf = s.AppendRateLimit(buf[:0], d) }); n != 0 {
		t.Errorf("AppendRateLimit allocs %v", n)
	}
}

func TestSetDecideNoAllocs(t *testing.T) {
	r, c := newReg()
	a := mustZone(t, r, Limit{Name: "a", Rate: 1000000, Burst: 100})
	b := mustZone(t, r, Limit{Name: "b", Rate: 1000000, Burst: 100})
	s := mustSet(t, b, a)
	keys := [][]byte{[]byte("192.168.1.1"), []byte("host.example.com")}
	s.Decide(keys)
	n := testing.AllocsPerRun(1000, func() {
		c.now++
		s.Decide(keys)
	})
	if n != 0 {
		t.Fatalf("Decide allocs = %v", n)
	}
}
