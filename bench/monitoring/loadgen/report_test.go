package main

import (
	"strings"
	"testing"
)

// TestQuantilesCountLateMarkers: markers whose event never came rank
// after every seen one, so a p99 among them reads "> max".
func TestQuantilesCountLateMarkers(t *testing.T) {
	seen := []float64{10, 20, 30, 40}
	for _, c := range []struct {
		late int64
		p    float64
		want string
	}{
		{0, 0.5, "20.0 ms"},
		{0, 0.99, "40.0 ms"},
		{0, 1, "40.0 ms"},
		{1, 0.5, "30.0 ms"},
		{1, 0.99, "> 40 ms"},
		{6, 0.5, "> 40 ms"},
	} {
		if got := qLate(seen, c.late, c.p); got != c.want {
			t.Errorf("qLate(%v, late %d, %v) = %q, want %q", seen, c.late, c.p, got, c.want)
		}
	}
	if got := qLate(nil, 0, 0.99); got != "n/a" {
		t.Errorf("qLate of nothing = %q, want n/a", got)
	}
}

// TestTableMediansAndRatios: the table shows each target's medians over
// its rounds and Wharf's ratio to VictoriaMetrics.
func TestTableMediansAndRatios(t *testing.T) {
	rounds := []roundResult{
		{Target: "wharf", Round: 1, AcceptedPS: 100, StoredPS: 50, Drained: true, Accepted: 1000, CPUS: 1, RSSPeakMiB: 300, AnonPeakMiB: 100, LatMS: []float64{5}, Markers: 1},
		{Target: "vm", Round: 1, AcceptedPS: 400, StoredPS: 400, Drained: true, Accepted: 4000, CPUS: 1, RSSPeakMiB: 100, AnonPeakMiB: 50},
		{Target: "vm", Round: 2, AcceptedPS: 200, StoredPS: 200, Drained: true, Accepted: 2000, CPUS: 1, RSSPeakMiB: 150, AnonPeakMiB: 60},
		{Target: "wharf", Round: 2, AcceptedPS: 300, StoredPS: 70, Drained: false, Accepted: 3000, CPUS: 3, RSSPeakMiB: 200, AnonPeakMiB: 90, MarkersLate: 1},
	}
	var b strings.Builder
	writeTable(&b, rounds)
	out := b.String()
	for _, want := range []string{
		"| wharf | 200 | 60 (1 round(s) not drained in time) |",
		"| vm | 300 | 300 |",
		"- wharf/vm accepted points/s: **0.667**   stored: **0.200**   peak RSS: 2.000   peak anon RSS: 1.667",
		"p99 **> 5 ms**",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
}

// TestBadArgumentsAreErrors: a wrong command, target or missing flag is an
// error naming it, before any traffic.
func TestBadArgumentsAreErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "usage"},
		{[]string{"bench"}, `unknown command "bench"`},
		{[]string{"round", "-target", "prometheus"}, "-target must be wharf or vm"},
		{[]string{"round", "-target", "vm", "-series", "5"}, "need -series >= 10"},
		{[]string{"round", "-target", "vm", "-pid", "1", "-state", "s", "-metrics-url", "m", "-stored-metric", "x", "-url", "ftp://h"}, "-url must be http://host:port"},
		{[]string{"report"}, "usage: loadgen report"},
	} {
		err := run(c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run(%q) = %v, want an error with %q", c.args, err, c.want)
		}
	}
}
