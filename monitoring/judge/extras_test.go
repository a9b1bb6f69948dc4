package judge

import (
	"math"
	"testing"
	"time"

	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/monitoring/strategy"
)

// TestRenotifyEvery: past max_step a PROBLEM repeats every renotify_every
// seconds (on unused points) with current_step counting on, instead of
// falling silent; off by default.
func TestRenotifyEvery(t *testing.T) {
	t.Parallel()
	s := busy
	s.MaxStep, s.RenotifyEvery = 2, 600
	_, evs := feed(compile(t, s), State{}, series(0, 60, repeat(95, 30)...))
	if got, want := brief(evs), "PROBLEM#1@120 PROBLEM#2@420 PROBLEM#3@1020 PROBLEM#4@1620"; got != want {
		t.Errorf("events %q, want %q", got, want)
	}
	if evs[2].Reason != event.ReasonRenotify || evs[1].Reason != event.ReasonThreshold {
		t.Errorf("reasons %s %s", evs[1].Reason, evs[2].Reason)
	}
	s.RenotifyEvery = 0
	_, evs = feed(compile(t, s), State{}, series(0, 60, repeat(95, 30)...))
	if got := brief(evs); got != "PROBLEM#1@120 PROBLEM#2@420" {
		t.Errorf("without renotify_every: %q", got)
	}
}

// TestRecoverCondition: with recover, an open problem turns OK only when
// the recover condition holds; between the two thresholds it stays open
// and repeats nothing.
func TestRecoverCondition(t *testing.T) {
	t.Parallel()
	s := strategy.Strategy{Func: "all(#1)", Operator: ">", RightValue: 90, MaxStep: 3,
		Recover: &strategy.Condition{Func: "all(#1)", Operator: "<", RightValue: 80}}
	_, evs := feed(compile(t, s), State{}, series(0, 60, 95, 85, 85, 79, 85, 91))
	if got, want := brief(evs), "PROBLEM#1@0 OK#1@180 PROBLEM#1@300"; got != want {
		t.Fatalf("events %q, want %q", got, want)
	}
	if evs[1].Reason != event.ReasonRecover || evs[1].LeftValue != 79 {
		t.Errorf("OK event %+v: want reason recover and the recover condition's left value", evs[1])
	}
	// A recover window not yet filled decides nothing.
	s.Recover = &strategy.Condition{Func: "all(#3)", Operator: "<", RightValue: 80}
	_, evs = feed(compile(t, s), State{}, series(0, 60, 50, 95, 70, 70, 70))
	if got, want := brief(evs), "PROBLEM#1@60 OK#1@240"; got != want {
		t.Errorf("events %q, want %q", got, want)
	}
}

// TestRecoverAfter: an open problem needs N good evaluations in a row; a
// bad one in between starts the count again.
func TestRecoverAfter(t *testing.T) {
	t.Parallel()
	s := strategy.Strategy{Func: "all(#1)", Operator: ">", RightValue: 90, MaxStep: 3, RecoverAfter: 3}
	_, evs := feed(compile(t, s), State{}, series(0, 60, 95, 50, 50, 95, 50, 50, 50, 50))
	if got, want := brief(evs), "PROBLEM#1@0 OK#1@360"; got != want {
		t.Errorf("events %q, want %q", got, want)
	}
	if len(evs) == 2 && evs[1].Reason != event.ReasonRecover {
		t.Errorf("reason %s", evs[1].Reason)
	}
	// Good evaluations while nothing is open count nothing.
	_, evs = feed(compile(t, s), State{}, series(0, 60, 50, 50, 50, 95, 50, 50))
	if got := brief(evs); got != "PROBLEM#1@180" {
		t.Errorf("events %q", got)
	}
}

// TestNoData: with nodata N, Tick sends one NODATA when the series' newest
// point is N steps old, never OK; points coming back are judged as after a
// problem. Without nodata, Tick does nothing (Falcon).
func TestNoData(t *testing.T) {
	t.Parallel()
	s := busy
	s.NoData = 3
	c := compile(t, s)
	st, _ := feed(c, State{}, series(0, 60, 50, 50, 50)) // newest at 120
	tick := func(at int64) []event.Event {
		var evs []event.Event
		st, evs = Tick(st, c, time.Unix(at, 0))
		return evs
	}
	if evs := tick(299); len(evs) != 0 {
		t.Errorf("NODATA before 3 steps: %s", brief(evs))
	}
	evs := tick(300)
	if brief(evs) != "NODATA#1@300" || !math.IsNaN(float64(evs[0].LeftValue)) || evs[0].Reason != event.ReasonNoData ||
		evs[0].ID != event.ID("s", "7", "web-1/cpu.busy/core=0") || evs[0].PushedTags["core"] != "0" {
		t.Fatalf("NODATA event %+v", evs)
	}
	if evs := tick(900); len(evs) != 0 {
		t.Errorf("NODATA repeated: %s", brief(evs))
	}
	st, evs = feed(c, st, series(960, 60, 50, 50, 50))
	if brief(evs) != "OK#1@960" {
		t.Errorf("data back and good: %s", brief(evs))
	}
	// Silence during a problem: NODATA, then bad data is a new PROBLEM#1.
	st, evs = feed(c, State{}, series(0, 60, 95, 95, 95))
	st, nd := Tick(st, c, time.Unix(400, 0))
	_, back := feed(c, st, series(600, 60, 95, 95, 95))
	if got := brief(append(append(evs, nd...), back...)); got != "PROBLEM#1@120 NODATA#1@400 PROBLEM#1@600" {
		t.Errorf("events %q", got)
	}
	st, _ = feed(compile(t, busy), State{}, series(0, 60, 95, 95, 95))
	if _, evs := Tick(st, compile(t, busy), time.Unix(1e6, 0)); len(evs) != 0 {
		t.Errorf("Tick without nodata: %s", brief(evs))
	}
	if _, evs := Tick(State{}, c, time.Unix(1e6, 0)); len(evs) != 0 {
		t.Errorf("Tick on a series never seen: %s", brief(evs))
	}
	s.RunBegin, s.RunEnd = "00:00", "00:01"
	if _, evs := Tick(st, compile(t, s), time.Unix(3600, 0).UTC()); len(evs) != 0 {
		t.Errorf("Tick outside the run window: %s", brief(evs))
	}
}

// TestStateSurvivesARestart: the state encoded after every point and
// decoded before the next (a judge restarting, or the shard moving, between
// any two points) gives exactly the events of an uninterrupted judge — no
// OK lost, no PROBLEM repeated, current_step not reset.
func TestStateSurvivesARestart(t *testing.T) {
	t.Parallel()
	s := busy
	s.RenotifyEvery, s.RecoverAfter, s.NoData = 900, 2, 5
	c := compile(t, s)
	vals := append(append(repeat(95, 40), 50, 95, 50, 50), repeat(95, 8)...)
	pts := series(0, 60, vals...)
	_, want := feed(c, State{}, pts)
	var st State
	var got []event.Event
	for i := range pts {
		b, err := st.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var again State
		if err := again.UnmarshalBinary(b); err != nil {
			t.Fatalf("decode after point %d: %v", i, err)
		}
		var evs []event.Event
		st, evs = Judge(again, c, pts[i:i+1], time.Unix(pts[i].Timestamp, 0))
		got = append(got, evs...)
	}
	if brief(got) != brief(want) || len(want) < 6 {
		t.Errorf("with restarts %q\nuninterrupted %q", brief(got), brief(want))
	}
	b, _ := st.MarshalBinary()
	if len(b) > 200 {
		t.Errorf("a state of %d points encodes to %d bytes", len(st.Points), len(b))
	}
}

func TestStateCodec(t *testing.T) {
	t.Parallel()
	st := State{Endpoint: "web-1", Metric: "cpu.busy", Tags: map[string]string{"b": "2", "a": "1"}, Step: 60,
		Points: []Sample{{-5, 1.5}, {60, math.Inf(1)}, {1 << 40, -0.25}},
		Last:   LastEvent{Status: event.Problem, Step: 4, Time: 120}, Good: 2}
	b, err := st.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var got State
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	again, _ := got.MarshalBinary()
	if string(again) != string(b) || got.Tags["a"] != "1" || got.Points[2] != st.Points[2] || got.Last != st.Last || got.Good != 2 {
		t.Errorf("round trip %+v", got)
	}
	// The tags encoded apart (as the runner keeps a series' tags) give
	// the same bytes, for tags or none.
	for _, s := range []State{st, {Endpoint: "web-1", Metric: "m"}, {Tags: map[string]string{"z": "", "": "x", "k": "v"}}} {
		want, _ := s.MarshalBinary()
		if got, err := s.AppendBinaryTags([]byte("x"), AppendTags(nil, s.Tags)); err != nil || string(got) != "x"+string(want) {
			t.Errorf("AppendBinaryTags of %+v: %q %v, want x%q", s, got, err, want)
		}
	}
	var zero State
	if b, _ := zero.MarshalBinary(); zero.UnmarshalBinary(b) != nil {
		t.Error("the zero state does not round-trip")
	}
	bad := map[string][]byte{
		"empty":    {},
		"version":  append([]byte{2}, b[1:]...),
		"trailing": append(append([]byte{}, b...), 0),
		"short":    b[:len(b)-3],
		"status":   {1, 0, 0, 0, 0, 9},
	}
	for name, in := range bad {
		keep := got
		if err := got.UnmarshalBinary(in); err == nil {
			t.Errorf("%s: decoded", name)
		}
		if got.Endpoint != keep.Endpoint {
			t.Errorf("%s: a failed decode changed the state", name)
		}
	}
	if _, err := (State{Last: LastEvent{Status: "WEIRD"}}).MarshalBinary(); err == nil {
		t.Error("an unknown status encoded")
	}
}

// TestWindowFollowsTheStrategy: after an edit the state keeps the newest
// points that fit the new window, and grows for a larger one.
func TestWindowFollowsTheStrategy(t *testing.T) {
	t.Parallel()
	big := compile(t, strategy.Strategy{Func: "all(#5)", Operator: ">", RightValue: 90})
	st, _ := feed(big, State{}, series(0, 60, 1, 2, 3, 4, 5, 6, 7))
	if len(st.Points) != 6 || st.Points[0].V != 2 {
		t.Fatalf("points %v", st.Points)
	}
	small := compile(t, strategy.Strategy{Func: "all(#1)", Operator: ">", RightValue: 90})
	st, _ = feed(small, st, series(420, 60, 8))
	if len(st.Points) != 2 || st.Points[0].V != 7 || st.Points[1].V != 8 {
		t.Fatalf("after shrinking: %v", st.Points)
	}
	st, evs := feed(big, st, series(480, 60, 95, 95, 95, 95, 95))
	if len(st.Points) != 6 || brief(evs) != "PROBLEM#1@720" {
		t.Errorf("after growing: %v %s", st.Points, brief(evs))
	}
}

// TestJudgeDoesNotAllocate: a steady series judged without an event
// allocates nothing, for every function and both kinds of counter.
func TestJudgeDoesNotAllocate(t *testing.T) {
	for _, fn := range []string{"all(#3)", "max(#3)", "min(#3)", "sum(#3)", "avg(#3)", "diff(#3)", "pdiff(#3)",
		"lookup(#2,3)", "stddev(#10)", "kdiff(#3,3)", "kpdiff(#3,3)"} {
		for _, typ := range []CounterType{Gauge, Counter} {
			c := compile(t, strategy.Strategy{Func: fn, Operator: "<", RightValue: -1e9, RunBegin: "00:00", RunEnd: "23:59",
				Recover: &strategy.Condition{Func: "avg(#2)", Operator: ">", RightValue: 0}})
			pts := series(0, 60, repeat(50, 20)...)
			for i := range pts {
				pts[i].Type, pts[i].Value = typ, float64(i*i)
			}
			st, _ := feed(c, State{}, pts)
			p := pts[len(pts)-1]
			now := time.Unix(0, 0).UTC()
			n := testing.AllocsPerRun(200, func() {
				p.Timestamp += 60
				p.Value += 7
				st, _ = Judge(st, c, []Point{p}, now)
			})
			if n != 0 {
				t.Errorf("%s %d: %v allocations per evaluation", fn, typ, n)
			}
		}
	}
}

// TestResolve: deleting or changing a strategy closes an open problem with
// an explicit OK, once; nothing when none is open.
func TestResolve(t *testing.T) {
	t.Parallel()
	c := compile(t, busy)
	st, _ := feed(c, State{}, series(0, 60, 95, 95, 95))
	st, evs := Resolve(st, c, time.Unix(500, 0))
	if brief(evs) != "OK#1@500" || evs[0].Reason != event.ReasonResolved || evs[0].ID != event.ID("s", "7", "web-1/cpu.busy/core=0") {
		t.Fatalf("resolve: %+v", evs)
	}
	if _, evs := Resolve(st, c, time.Unix(600, 0)); len(evs) != 0 {
		t.Errorf("resolved twice: %s", brief(evs))
	}
	if _, evs := Resolve(State{}, c, time.Unix(600, 0)); len(evs) != 0 {
		t.Errorf("resolved a series never seen: %s", brief(evs))
	}
}
