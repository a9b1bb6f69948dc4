package gateway_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/internal/config"
)

// step is one request of a timeline: at ms after the timeline's start, from
// the timeline's client, expecting a status.
type step struct {
	at     time.Duration
	status int
}

// runTimeline plays steps in order against path as client ip, sleeping until
// each step's time (the real clock; steps are ≥ 50 ms away from the edges
// where the nginx outcome changes).
func runTimeline(t *testing.T, n *edgeNode, path, ip string, steps []step) {
	t.Helper()
	start := time.Now()
	for i, s := range steps {
		time.Sleep(time.Until(start.Add(s.at)))
		r := n.get(t, path, ip)
		if r.Status != s.status {
			t.Fatalf("step %d at %v (sent at %v): got %d, want %d (RateLimit %q)", i, s.at, time.Since(start), r.Status, s.status, r.Get("RateLimit"))
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

func TestNginxTimelinesOverHTTP(t *testing.T) {
	n := startEdge(t, limitEdge(
		config.LimitConfig{Name: "one", Key: "ip", Rate: "1r/s"},
		config.LimitConfig{Name: "two", Key: "ip", Rate: "2r/s", Burst: 1, NoDelay: true},
	), true)
	t.Run("1r/s", func(t *testing.T) {
		t.Parallel()
		runTimeline(t, n, "/api/one/x", "198.51.100.1", []step{
			{0, 200}, {0, 429}, {500 * time.Millisecond, 429}, {950 * time.Millisecond, 429},
			{1050 * time.Millisecond, 200}, {1050 * time.Millisecond, 429},
		})
	})
	t.Run("2r/s burst=1 nodelay", func(t *testing.T) {
		t.Parallel()
		runTimeline(t, n, "/api/two/x", "198.51.100.2", []step{
			{0, 200}, {0, 200}, {0, 429}, {400 * time.Millisecond, 429},
			{550 * time.Millisecond, 200}, {1050 * time.Millisecond, 200},
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
