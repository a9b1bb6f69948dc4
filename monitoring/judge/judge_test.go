package judge

import (
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/monitoring/strategy"
)

var busy = strategy.Strategy{Func: "all(#3)", Operator: ">", RightValue: 90, MaxStep: 3}

// TestResendRules are Falcon's re-send rules (sendEventIfNeed), each point
// judged at its own time, step 60.
func TestResendRules(t *testing.T) {
	t.Parallel()
	with := func(edit func(*strategy.Strategy)) strategy.Strategy {
		s := busy
		edit(&s)
		return s
	}
	cases := []struct {
		name string
		s    strategy.Strategy
		vals []float64
		want string
	}{
		// Falcon's worked example: all(#3)>90, max_step 3, bad from t=0:
		// the first PROBLEM when 3 values are there, then one every
		// min_interval (300 s) on points not used before, up to max_step.
		{"worked example", busy, repeat(95, 26), "PROBLEM#1@120 PROBLEM#2@420 PROBLEM#3@720"},
		{"then OK", busy, append(repeat(95, 26), 50), "PROBLEM#1@120 PROBLEM#2@420 PROBLEM#3@720 OK#1@1560"},
		{"not enough values: no decision", busy, []float64{95, 95}, ""},
		{"good from the start: nothing", busy, repeat(50, 10), ""},
		{"OK once", busy, []float64{95, 95, 95, 50, 50, 50}, "PROBLEM#1@120 OK#1@180"},
		{"a new problem after OK starts at step 1 at once", busy,
			[]float64{95, 95, 95, 50, 95, 95, 95}, "PROBLEM#1@120 OK#1@180 PROBLEM#1@360"},
		{"max_step 1", with(func(s *strategy.Strategy) { s.MaxStep = 1 }), repeat(95, 30), "PROBLEM#1@120"},
		// With min_interval 60 the binding rule is "points not used by the
		// last event": all(#3) at 120 read 0,60,120, so the next may read
		// only points after 120: at 300 (180,240,300).
		{"points used by the last event are not reused", with(func(s *strategy.Strategy) { s.MinInterval = 60 }),
			repeat(95, 12), "PROBLEM#1@120 PROBLEM#2@300 PROBLEM#3@480"},
		{"min_interval 600", with(func(s *strategy.Strategy) { s.MinInterval = 600 }),
			repeat(95, 30), "PROBLEM#1@120 PROBLEM#2@720 PROBLEM#3@1320"},
		// A problem that flaps back under the threshold for one point is an
		// OK and a new PROBLEM#1, as in Falcon.
		{"flapping", with(func(s *strategy.Strategy) { s.Func = "all(#1)" }),
			[]float64{95, 50, 95, 50}, "PROBLEM#1@0 OK#1@60 PROBLEM#1@120 OK#1@180"},
		{"operator ==", with(func(s *strategy.Strategy) { s.Func, s.Operator, s.RightValue = "all(#1)", "==", 0 }),
			[]float64{1, 0.00005, 0.00005, 1}, "PROBLEM#1@60 OK#1@180"},
	}
	for _, tc := range cases {
		c := compile(t, tc.s)
		_, evs := feed(c, State{}, series(0, 60, tc.vals...))
		if got := brief(evs); got != tc.want {
			t.Errorf("%s: events %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestMinIntervalUsesTheJudgeClock: min_interval counts from the last
// event's time to now (the judge's clock), not to the point's time, as in
// Falcon: a backlog judged late repeats as soon as its points are unused,
// and points stamped ahead of the clock repeat nothing.
func TestMinIntervalUsesTheJudgeClock(t *testing.T) {
	t.Parallel()
	c := compile(t, busy)
	now := time.Unix(10_000, 0)
	_, evs := Judge(State{}, c, series(0, 60, repeat(95, 30)...), now)
	if got := brief(evs); got != "PROBLEM#1@120 PROBLEM#2@300 PROBLEM#3@480" {
		t.Errorf("backlog judged at a late now: %q", got)
	}
	now = time.Unix(200, 0)
	_, evs = Judge(State{}, c, series(0, 60, repeat(95, 30)...), now)
	if got := brief(evs); got != "PROBLEM#1@120" {
		t.Errorf("points from the future judged at now=200: %q", got)
	}
}

func TestEventFields(t *testing.T) {
	t.Parallel()
	s := busy
	s.ID, s.Team, s.Priority, s.Note = "cpu-hot", "shop", 2, "cpu busy"
	c := compile(t, s)
	pts := series(0, 60, 95, 96, 97)
	_, evs := feed(c, State{}, pts)
	if len(evs) != 1 {
		t.Fatalf("events %s", brief(evs))
	}
	e := evs[0]
	want := event.Event{Version: 1, ID: event.ID("s", "cpu-hot", "web-1/cpu.busy/core=0"), Status: event.Problem,
		CurrentStep: 1, EventTime: 120, StrategyID: "cpu-hot", Team: "shop", Endpoint: "web-1", Metric: "cpu.busy",
		LeftValue: 97, Func: "all(#3)", Operator: ">", RightValue: 90, MaxStep: 3, Priority: 2, Note: "cpu busy",
		Reason: event.ReasonThreshold}
	tags := e.PushedTags
	e.PushedTags = nil
	if !reflect.DeepEqual(e, want) {
		t.Errorf("event\n %+v\nwant\n %+v", e, want)
	}
	if tags["core"] != "0" || len(tags) != 1 {
		t.Errorf("pushed tags %v", tags)
	}
	pts[2].Tags["core"] = "changed"
	if tags["core"] != "0" {
		t.Error("the event shares the point's tag map")
	}

	x := busy
	x.Metric, x.Expression = "", "each(metric=qps project=falcon)"
	cx := compile(t, x)
	p := Point{Endpoint: "api-1", Metric: "qps", Tags: map[string]string{"project": "falcon"}, Step: 60, Type: Gauge}
	var st State
	for i := range 3 {
		p.Timestamp, p.Value = int64(60*(i+1)), 100
		var evs []event.Event
		if st, evs = Judge(st, cx, []Point{p}, time.Unix(p.Timestamp, 0)); i == 2 {
			if len(evs) != 1 || evs[0].ID != event.ID("e", "7", "api-1/qps/project=falcon") || evs[0].Expression != x.Expression {
				t.Errorf("expression event %+v", evs)
			}
		}
	}
}

// TestOutOfOrderAndDuplicatePointsAreNotJudged: a point not newer than the
// series' newest is neither stored nor judged.
func TestOutOfOrderAndDuplicatePointsAreNotJudged(t *testing.T) {
	t.Parallel()
	c := compile(t, strategy.Strategy{Func: "all(#1)", Operator: ">", RightValue: 90, MaxStep: 3})
	st, evs := feed(c, State{}, series(60, 60, 95, 95))
	if brief(evs) != "PROBLEM#1@60" {
		t.Fatalf("events %s", brief(evs))
	}
	before := slices.Clone(st.Points)
	late := series(0, 60, 10, 10, 10) // t=0 (older), 60 and 120 (duplicates)
	st, evs = feed(c, st, late)
	if len(evs) != 0 {
		t.Errorf("late points judged: %s", brief(evs))
	}
	if !slices.Equal(st.Points, before) {
		t.Errorf("late points stored: %v, was %v", st.Points, before)
	}
}

// TestRunWindow: outside run_begin..run_end nothing is judged, but points
// are kept, so the first point inside the window is judged on them.
func TestRunWindow(t *testing.T) {
	t.Parallel()
	s := busy
	s.RunBegin, s.RunEnd = "09:00", "09:04"
	c := compile(t, s)
	day := int64(86400 * 20000)
	nine := day + 9*3600
	_, evs := feed(c, State{}, series(nine-180, 60, repeat(95, 10)...))
	if got := brief(evs); got != "PROBLEM#1@"+itoa(nine) {
		t.Errorf("events %q, want PROBLEM#1 at 09:00 (%d)", got, nine)
	}
	// Across midnight, in the zone of now.
	s.RunBegin, s.RunEnd = "23:00", "01:00"
	c = compile(t, s)
	loc := time.FixedZone("UTC+2", 2*3600)
	var st State
	var got []event.Event
	for i, p := range series(day-3*3600-60, 60, repeat(95, 4)...) { // 22:59..23:02 in UTC+2
		var evs []event.Event
		st, evs = Judge(st, c, []Point{p}, time.Unix(p.Timestamp, 0).In(loc))
		if i < 1 && len(evs) > 0 {
			t.Errorf("judged at 22:59: %s", brief(evs))
		}
		got = append(got, evs...)
	}
	if brief(got) != "PROBLEM#1@"+itoa(day-3*3600+60) {
		t.Errorf("across midnight: %s", brief(got))
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
