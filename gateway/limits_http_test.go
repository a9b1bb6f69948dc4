package gateway_test

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/internal/config"
)

// step is one request of a timeline: at a time after the timeline's start
// (on the limits' clock), from the timeline's client, expecting a status.
type step struct {
	at     time.Duration
	status int
}

// limitClock is a millisecond clock for the gateway's limits that only the
// test moves, so a timeline's decisions depend on its steps' times and not
// on when a loaded machine gets the request to the limiter.
type limitClock struct{ ms atomic.Int64 }

func (c *limitClock) now() int64 { return c.ms.Load() }

// runTimeline plays steps in order against path as client ip: the clock is
// set to each step's time, then its request is sent and answered.
func runTimeline(t *testing.T, n *edgeNode, clock *limitClock, path, ip string, steps []step) {
	t.Helper()
	start := clock.now()
	for i, s := range steps {
		clock.ms.Store(start + s.at.Milliseconds())
		r := n.get(t, path, ip)
		if r.Status != s.status {
			t.Fatalf("step %d at %v: got %d, want %d (RateLimit %q)", i, s.at, r.Status, s.status, r.Get("RateLimit"))
		}
	}
}

func limitEdge(limits ...config.LimitConfig) config.Edge {
	e := config.Edge{Limits: limits}
	for _, l := range limits {
		e.Routes = append(e.Routes, fnRoute(l.Name, "/api/"+l.Name+"/", l.Name))
	}
	return e
}

// TestNginxTimelinesOverHTTP plays request timelines over HTTP on a clock
// the test moves, so each step lands on the millisecond nginx's limit_req
// decides on: one millisecond before a request's turn it is rejected, on
// the millisecond it is admitted.
func TestNginxTimelinesOverHTTP(t *testing.T) {
	clock := &limitClock{}
	clock.ms.Store(1_000_000)
	n := startEdgeTuned(t, limitEdge(
		config.LimitConfig{Name: "one", Key: "ip", Rate: "1r/s"},
		config.LimitConfig{Name: "two", Key: "ip", Rate: "2r/s", Burst: 1, NoDelay: true},
	), true, echoFunctions{}, func(o *gateway.Options) { o.LimitClock = clock.now })
	ms := time.Millisecond
	t.Run("1r/s", func(t *testing.T) {
		runTimeline(t, n, clock, "/api/one/x", "198.51.100.1", []step{
			{0, 200}, {0, 429}, {500 * ms, 429}, {999 * ms, 429},
			{1000 * ms, 200}, {1000 * ms, 429}, {1999 * ms, 429}, {2000 * ms, 200},
		})
	})
	t.Run("2r/s burst=1 nodelay", func(t *testing.T) {
		runTimeline(t, n, clock, "/api/two/x", "198.51.100.2", []step{
			{0, 200}, {0, 200}, {0, 429}, {400 * ms, 429}, {499 * ms, 429},
			{500 * ms, 200}, {500 * ms, 429}, {999 * ms, 429}, {1000 * ms, 200},
			// Idle for a second: the burst is back.
			{2000 * ms, 200}, {2000 * ms, 200}, {2000 * ms, 429},
		})
	})
}

func TestNginxDelayTimelineOverHTTP(t *testing.T) {
	n := startEdge(t, limitEdge(config.LimitConfig{Name: "burst", Key: "ip", Rate: "2r/s", Burst: 5}), true)
	type result struct {
		status  int
		outcome string
		took    time.Duration
	}
	start := time.Now()
	results := make([]result, 7)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			t0 := time.Now()
			r := gatewaytest.Do(t, n.addr, "GET", "/api/burst/x", map[string]string{"X-Forwarded-For": "198.51.100.3"}, "")
			results[i] = result{r.Status, r.Get(gateway.HeaderRateLimitStatus), time.Since(t0)}
		}(i)
	}
	// t=1000 ms: the excess has drained by 2000 (milli-requests) → delayed 2000 ms.
	time.Sleep(time.Until(start.Add(time.Second)))
	t0 := time.Now()
	late := n.get(t, "/api/burst/x", "198.51.100.3")
	lateTook := time.Since(t0)
	wg.Wait()
	slices.SortFunc(results, func(a, b result) int { return int(a.took - b.took) })
	var passed, delayed, rejected int
	var delays []time.Duration
	for _, r := range results {
		switch {
		case r.status == 429:
			rejected++
		case r.status == 200 && r.outcome == "DELAYED":
			delayed++
			delays = append(delays, r.took)
		case r.status == 200:
			passed++
		}
	}
	if passed != 1 || delayed != 5 || rejected != 1 {
		t.Fatalf("want 1 passed, 5 delayed, 1 rejected; got %d, %d, %d: %+v", passed, delayed, rejected, results)
	}
	// Delays are 500, 1000, ..., 2500 ms minus the few ms between the requests' arrivals.
	for i, d := range delays {
		if min := time.Duration(i+1)*500*time.Millisecond - 50*time.Millisecond; d < min {
			t.Errorf("delayed request %d answered after %v, want at least %v", i+2, d, min)
		}
	}
	if late.Status != 200 || late.Get(gateway.HeaderRateLimitStatus) != "DELAYED" || lateTook < 1950*time.Millisecond {
		t.Fatalf("request at t=1000: status %d outcome %q after %v; want DELAYED by 2000 ms", late.Status, late.Get(gateway.HeaderRateLimitStatus), lateTook)
	}
}

func TestRejectionFieldsAndDryRun(t *testing.T) {
	n := startEdge(t, limitEdge(
		config.LimitConfig{Name: "strict", Key: "ip", Rate: "1r/m", Status: 503},
		config.LimitConfig{Name: "dry", Key: "ip", Rate: "1r/m", DryRun: true},
	), true)
	r := n.get(t, "/api/strict/x", "198.51.100.4")
	if r.Status != 200 || r.Get("RateLimit-Policy") != `"strict";q=1;w=60` || r.Get("RateLimit") == "" {
		t.Fatalf("first: %d %v", r.Status, r.Header)
	}
	r = n.get(t, "/api/strict/x", "198.51.100.4")
	if r.Status != 503 || r.Get("Retry-After") == "" || r.Get(gateway.HeaderRateLimitStatus) != "REJECTED" {
		t.Fatalf("second: %d %v %s", r.Status, r.Header, r.Body)
	}
	for i := 0; i < 3; i++ {
		r = n.get(t, "/api/dry/x", "198.51.100.4")
		if r.Status != 200 {
			t.Fatalf("dry-run must never reject: %d", r.Status)
		}
	}
	if got := r.Get(gateway.HeaderRateLimitStatus); got != "REJECTED_DRY_RUN" {
		t.Fatalf("dry-run outcome %q", got)
	}
}

func TestHeaderKeyAndEmptyKeySkips(t *testing.T) {
	n := startEdge(t, limitEdge(config.LimitConfig{Name: "key", Key: "header:X-Api-Key", Rate: "1r/m"}), true)
	do := func(key string) int {
		return gatewaytest.Do(t, n.addr, "GET", "/api/key/x", map[string]string{"X-Api-Key": key}, "").Status
	}
	if do("a") != 200 || do("a") != 429 || do("b") != 200 {
		t.Fatal("per-key budget broken")
	}
	for i := 0; i < 3; i++ {
		if s := do(""); s != 200 {
			t.Fatalf("no key: the limit is skipped, got %d", s)
		}
	}
}
