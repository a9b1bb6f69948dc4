package rooms

import (
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/config"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func sec(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }

func activeStandby() Policy {
	return Policy{
		Weights:      map[string]int{"bj": 100, "sh": 0},
		Priority:     []string{"bj", "sh"},
		RecoverAfter: config.Duration(30 * time.Second),
	}
}

func kinds(evs []Event) []EventKind {
	var k []EventKind
	for _, e := range evs {
		k = append(k, e.Kind)
	}
	return k
}

func TestFailoverKillAndRecover(t *testing.T) {
	t.Parallel()
	f := NewFailover()
	p := activeStandby()
	up := Health{"bj": {10, 10}, "sh": {10, 10}}
	down := Health{"bj": {0, 10}, "sh": {10, 10}}

	for s := 0; s < 10; s++ {
		d, evs := f.Evaluate(sec(s), p, up)
		checkDist(t, d, map[string]float64{"bj": 1, "sh": 0})
		if len(evs) != 0 {
			t.Fatalf("t=%d: events %v while healthy", s, evs)
		}
	}
	d, evs := f.Evaluate(sec(10), p, down)
	checkDist(t, d, map[string]float64{"bj": 0, "sh": 1})
	if len(evs) != 1 || evs[0].Kind != EventDegraded || evs[0].Room != "bj" || evs[0].SpillTo[0] != "sh" {
		t.Fatalf("events %+v, want bj degraded spilling to sh", evs)
	}
	if got := evs[0].String(); got != "room bj at 0 % healthy: keeps 0 % of its traffic, 100 % spills to sh" {
		t.Errorf("event text %q", got)
	}
	for s := 11; s < 20; s++ {
		f.Evaluate(sec(s), p, down)
	}
	// Back at t=20: held at 0 until it has been healthy for 30 s.
	for s := 20; s < 50; s++ {
		d, evs := f.Evaluate(sec(s), p, up)
		checkDist(t, d, map[string]float64{"bj": 0, "sh": 1})
		if len(evs) != 0 {
			t.Fatalf("t=%d: events %v during recovery", s, evs)
		}
		if s == 25 {
			st, _ := f.Status()
			if st[0].Room != "bj" || st[0].State != RoomRecovering || !st[0].RecoverAt.Equal(sec(50)) {
				t.Fatalf("status %+v, want bj recovering until t=50", st[0])
			}
		}
	}
	d, evs = f.Evaluate(sec(50), p, up)
	checkDist(t, d, map[string]float64{"bj": 1, "sh": 0})
	if len(evs) != 1 || evs[0].Kind != EventRecovered || evs[0].Room != "bj" {
		t.Fatalf("events %+v, want bj recovered", evs)
	}
	if !strings.Contains(evs[0].String(), "traffic returns") {
		t.Errorf("event text %q", evs[0].String())
	}
}

// Health oscillating around the threshold must not move traffic back and
// forth, nor flood the log.
func TestFailoverNoFlapping(t *testing.T) {
	t.Parallel()
	f := NewFailover()
	p := activeStandby()
	var first Distribution
	var all []Event
	for s := 0; s < 300; s++ {
		bj := 69 // 69 % and 75 % in turn, around the 70 % threshold
		if s%2 == 1 {
			bj = 75
		}
		d, evs := f.Evaluate(sec(s), p, Health{"bj": {bj, 100}, "sh": {10, 10}})
		all = append(all, evs...)
		if first == nil {
			first = d
			continue
		}
		checkDist(t, d, first)
	}
	if len(all) != 1 || all[0].Kind != EventDegraded {
		t.Fatalf("events %v, want a single degraded", kinds(all))
	}
	// Slower oscillation, each phase shorter than the hysteresis.
	f = NewFailover()
	for s := 0; s < 300; s++ {
		bj := 3
		if s/20%2 == 1 {
			bj = 10
		}
		d, _ := f.Evaluate(sec(s), p, Health{"bj": {bj, 10}, "sh": {10, 10}})
		checkDist(t, d, map[string]float64{"bj": 0.42, "sh": 0.58})
	}
}

func TestFailoverDropIsImmediateRiseIsDelayed(t *testing.T) {
	t.Parallel()
	f := NewFailover()
	p := activeStandby()
	f.Evaluate(sec(0), p, Health{"bj": {0, 10}, "sh": {10, 10}})
	// Partly back (40 %): still held at 0 for 30 s, then 56 %.
	for s := 1; s < 31; s++ {
		d, evs := f.Evaluate(sec(s), p, Health{"bj": {4, 10}, "sh": {10, 10}})
		checkDist(t, d, map[string]float64{"bj": 0, "sh": 1})
		if len(evs) != 0 {
			t.Fatalf("t=%d: events %v", s, evs)
		}
	}
	d, evs := f.Evaluate(sec(31), p, Health{"bj": {4, 10}, "sh": {10, 10}})
	checkDist(t, d, map[string]float64{"bj": 0.56, "sh": 0.44})
	if len(evs) != 1 || evs[0].Kind != EventSpill || !near(evs[0].Kept, 0.56, eps) {
		t.Fatalf("events %+v, want a spill change to 56 %%", evs)
	}
	// A further drop applies at once.
	d, evs = f.Evaluate(sec(32), p, Health{"bj": {2, 10}, "sh": {10, 10}})
	checkDist(t, d, map[string]float64{"bj": 0.28, "sh": 0.72})
	if len(evs) != 1 || evs[0].Kind != EventSpill {
		t.Fatalf("events %+v, want a spill change", evs)
	}
	// A dip during recovery restarts the hysteresis.
	f.Evaluate(sec(40), p, Health{"bj": {10, 10}, "sh": {10, 10}})
	f.Evaluate(sec(60), p, Health{"bj": {6, 10}, "sh": {10, 10}})
	for s := 61; s < 91; s++ {
		d, _ = f.Evaluate(sec(s), p, Health{"bj": {10, 10}, "sh": {10, 10}})
		if d["bj"] == 1 {
			t.Fatalf("t=%d: full weight back %ds after the dip", s, s-60)
		}
	}
	d, _ = f.Evaluate(sec(91), p, Health{"bj": {10, 10}, "sh": {10, 10}})
	checkDist(t, d, map[string]float64{"bj": 1, "sh": 0})
}

func TestFailoverPanic(t *testing.T) {
	t.Parallel()
	f := NewFailover()
	p := Policy{Weights: map[string]int{"bj": 80, "sh": 20}}
	d, evs := f.Evaluate(sec(0), p, Health{"bj": {0, 10}, "sh": {0, 10}})
	checkDist(t, d, map[string]float64{"bj": 0.8, "sh": 0.2})
	if k := kinds(evs); len(k) != 3 || k[0] != EventPanic {
		t.Fatalf("events %v, want panic then both rooms degraded", k)
	}
	if _, panic := f.Status(); !panic {
		t.Fatal("status: not in panic mode")
	}
	// sh comes back: it is held at 0 by the hysteresis, but since nothing
	// else is healthy it gets the traffic at once.
	d, evs = f.Evaluate(sec(1), p, Health{"bj": {0, 10}, "sh": {10, 10}})
	checkDist(t, d, map[string]float64{"bj": 0, "sh": 1})
	if k := kinds(evs); len(k) < 1 || k[0] != EventPanicOver {
		t.Fatalf("events %v, want panic over", k)
	}
	if _, panic := f.Status(); panic {
		t.Fatal("status: still in panic mode")
	}
}

func TestFailoverFollowsPolicy(t *testing.T) {
	t.Parallel()
	f := NewFailover()
	h := Health{"bj": {10, 10}, "sh": {10, 10}, "gz": {10, 10}}
	f.Evaluate(sec(0), Policy{Weights: map[string]int{"bj": 1, "gz": 1}}, h)
	d, _ := f.Evaluate(sec(1), Policy{Weights: map[string]int{"bj": 1, "sh": 3}}, h)
	checkDist(t, d, map[string]float64{"bj": 0.25, "sh": 0.75})
	st, _ := f.Status()
	if len(st) != 2 || st[0].Room != "bj" || st[1].Room != "sh" || st[1].Share != 0.75 {
		t.Fatalf("status %+v, want bj and sh only", st)
	}
}

func TestMinWindow(t *testing.T) {
	t.Parallel()
	var w minWindow
	span := 10 * time.Second
	steps := []struct {
		at   int
		v    float64
		want float64
	}{
		{0, 1, 1}, {1, 0.5, 0.5}, {2, 0.8, 0.5}, {3, 0.9, 0.5},
		{11, 0.9, 0.5},  // 0.5 held from 1 to 2: 2 > 11-10
		{12, 0.95, 0.8}, // 0.5 ended at 2 <= 12-10; 0.8 held 2..3
		{13, 1, 0.9},
		{30, 1, 1},
		{31, 0, 0},
	}
	for _, s := range steps {
		if got := w.add(sec(s.at), s.v, span); got != s.want {
			t.Fatalf("t=%d add %v: min %v, want %v", s.at, s.v, got, s.want)
		}
	}
}
