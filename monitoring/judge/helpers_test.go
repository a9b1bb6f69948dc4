package judge

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/monitoring/strategy"
)

// compile compiles s with defaults filled in (id, metric, max_step).
func compile(t testing.TB, s strategy.Strategy) *strategy.Compiled {
	t.Helper()
	if s.ID == "" {
		s.ID = "7"
	}
	if s.Metric == "" && s.Expression == "" {
		s.Metric = "cpu.busy"
	}
	if s.MaxStep == 0 {
		s.MaxStep = 3
	}
	c, err := strategy.Compile(s)
	if err != nil {
		t.Fatalf("Compile(%+v): %v", s, err)
	}
	return c
}

// series makes GAUGE points of web-1/cpu.busy/core=0, one per step from t0.
func series(t0, step int64, vals ...float64) []Point {
	pts := make([]Point, len(vals))
	for i, v := range vals {
		pts[i] = Point{Endpoint: "web-1", Metric: "cpu.busy", Tags: map[string]string{"core": "0"},
			Timestamp: t0 + int64(i)*step, Step: step, Value: v, Type: Gauge}
	}
	return pts
}

// repeat is n copies of v.
func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// feed judges pts one at a time with now = each point's time (as a judge
// that receives every point the moment it is stamped).
func feed(c *strategy.Compiled, st State, pts []Point) (State, []event.Event) {
	var out []event.Event
	for i := range pts {
		var evs []event.Event
		st, evs = Judge(st, c, pts[i:i+1], time.Unix(pts[i].Timestamp, 0).UTC())
		out = append(out, evs...)
	}
	return st, out
}

// brief writes events as "PROBLEM#1@120" for comparison.
func brief(evs []event.Event) string {
	parts := make([]string, len(evs))
	for i, e := range evs {
		parts[i] = fmt.Sprintf("%s#%d@%d", e.Status, e.CurrentStep, e.EventTime)
	}
	return strings.Join(parts, " ")
}
