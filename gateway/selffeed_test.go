package gateway

import (
	"math"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/internal/feed"
)

// feedValues indexes a step's points by metric and tags.
func feedValues(points []feed.Point) map[string]float64 {
	out := map[string]float64{}
	for _, p := range points {
		out[p.Metric+"{"+p.Tags+"}"] = p.Value
	}
	return out
}

// TestSelfFeedCountsEachStepFromTheRouteCounters: each collection is the
// step's requests, errors (5xx and no answer), error rate and latency
// percentiles per route and per service, from the counters the request
// path keeps; a step without requests has zeros and no percentiles.
func TestSelfFeedCountsEachStepFromTheRouteCounters(t *testing.T) {
	set := metrics.NewSet()
	a := newRouteMetrics(set, "a", "shop")
	b := newRouteMetrics(set, "b", "shop")
	fn := newRouteMetrics(set, "api", "")
	g := &Gateway{opts: Options{Metrics: set}}
	g.snap.Store(&snapshot{routes: []*compiledRoute{{name: "a", service: "shop", m: a}, {name: "b", service: "shop", m: b}, {name: "api", m: fn}}})
	f := newSelfFeed(g, "node-1", 30*time.Second)

	a.observe(200, 0.003) // before the first step counts in it
	for range 3 {
		a.observe(200, 0.003)
	}
	a.observe(502, 0.2)
	b.observe(0, 0.001) // no answer
	now := time.Unix(1_800_000_000, 0)
	pts := f.collect(now)
	for _, p := range pts {
		if p.Endpoint != "node-1" || p.Step != 30 || p.Timestamp != now.Unix() || p.CounterType != feed.Gauge {
			t.Fatalf("point %+v", p)
		}
	}
	v := feedValues(pts)
	want := map[string]float64{
		"wharf.route.requests{route=a,service=shop}":   5,
		"wharf.route.errors{route=a,service=shop}":     1,
		"wharf.route.error_rate{route=a,service=shop}": 0.2,
		"wharf.route.requests{route=b,service=shop}":   1,
		"wharf.route.error_rate{route=b,service=shop}": 1,
		"wharf.route.requests{route=api}":              0,
		"wharf.route.error_rate{route=api}":            0,
		"wharf.service.requests{service=shop}":         6,
		"wharf.service.errors{service=shop}":           2,
	}
	for k, w := range want {
		if got, ok := v[k]; !ok || math.Abs(got-w) > 1e-9 {
			t.Errorf("%s = %v (%v), want %v", k, got, ok, w)
		}
	}
	// p50 of a: 4 of 5 in (0.0025, 0.005]; p99 in (0.1, 0.25].
	if p := v["wharf.route.latency_p50{route=a,service=shop}"]; p <= 0.0025 || p > 0.005 {
		t.Errorf("p50 %v", p)
	}
	if p := v["wharf.route.latency_p99{route=a,service=shop}"]; p <= 0.1 || p > 0.25 {
		t.Errorf("p99 %v", p)
	}
	if _, ok := v["wharf.route.latency_p50{route=api}"]; ok {
		t.Error("a route without requests has a latency")
	}
	if got := v["wharf.service.error_rate{service=shop}"]; math.Abs(got-2.0/6) > 1e-9 {
		t.Errorf("service error rate %v", got)
	}

	// The next step counts only its own requests.
	a.observe(200, 2)
	v = feedValues(f.collect(now.Add(30 * time.Second)))
	if v["wharf.route.requests{route=a,service=shop}"] != 1 || v["wharf.route.errors{route=a,service=shop}"] != 0 ||
		v["wharf.route.requests{route=b,service=shop}"] != 0 {
		t.Errorf("second step: %v", v)
	}
	if p := v["wharf.route.latency_p50{route=a,service=shop}"]; p <= 1 || p > 2.5 {
		t.Errorf("second step p50 %v", p)
	}
	if _, ok := v["wharf.route.latency_p50{route=b,service=shop}"]; ok {
		t.Error("a step without requests has a latency")
	}
}

func TestDeltas(t *testing.T) {
	got := deltas([]uint64{1, 3, 3}, []uint64{2, 5, 7})
	want := []uint64{1, 1, 2}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("deltas = %v, want %v", got, want)
		}
	}
	if got := deltas(nil, []uint64{2, 5}); got[0] != 2 || got[1] != 3 {
		t.Fatalf("from nothing: %v", got)
	}
}
