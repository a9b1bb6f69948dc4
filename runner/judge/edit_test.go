package judge_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/monitoring/metric"
)

// eventsOf waits until n events of strategy id arrived and returns them in
// arrival order.
func (e *env) eventsOf(id string, n int) []event.Event {
	e.t.Helper()
	var out []event.Event
	testenv.Eventually(e.t, 40*time.Second, func() error {
		e.mu.Lock()
		defer e.mu.Unlock()
		out = out[:0]
		for _, a := range e.alarms {
			if a.StrategyID == id {
				out = append(out, a)
			}
		}
		if len(out) < n {
			return fmt.Errorf("%d of %d events of %s", len(out), n, id)
		}
		return nil
	})
	return out
}

func briefs(evs []event.Event) []brief {
	out := make([]brief, len(evs))
	for i, ev := range evs {
		out[i] = brief{ev.Status, ev.CurrentStep, ev.EventTime}
	}
	slices.SortStableFunc(out, func(a, b brief) int { return int(a.Time - b.Time) })
	return out
}

func (e *env) deleteStrategy(st store.Store, id string) {
	e.t.Helper()
	if _, err := st.Delete(context.Background(), "monitor/strategies/"+id); err != nil {
		e.t.Fatal(err)
	}
}

// An edit of fields that do not judge (note, max_step) keeps the open
// problem: no OK, current_step goes on, later events carry the new note.
func TestNonJudgingEditKeepsOpenProblem(t *testing.T) {
	e := newEnv(t)
	st := e.store()
	marker := webCPU
	marker.ID = "marker"
	e.putStrategy(st, webCPU)
	e.putStrategy(st, marker)
	e.startJudge(st, "j1", 1)
	for ts := int64(0); ts <= 120; ts += 60 {
		e.feed(st, ts)
	}
	// feed waits for web-cpu's state only: the marker's PROBLEM at 120 may
	// still be on its way, and a delete before it is decided leaves it
	// undecided (the judge judges under the strategies in force).
	e.eventsOf(marker.ID, 1)
	edited := webCPU
	edited.Note, edited.MaxStep = "page the shop on-call", 4
	e.putStrategy(st, edited)
	// The judge sees watch events in order: once the marker's delete is
	// resolved, the edit before it has been applied.
	e.clock.Store(150)
	e.deleteStrategy(st, marker.ID)
	e.eventsOf(marker.ID, 2)
	for ts := int64(180); ts <= 960; ts += 60 {
		e.feed(st, ts)
	}
	evs := e.eventsOf(webCPU.ID, len(falconExample))
	if got := briefs(evs); !slices.Equal(got, falconExample) {
		t.Fatalf("events %v, want %v (the open problem kept across the edit)", got, falconExample)
	}
	for _, ev := range evs[1:] {
		if ev.Note != edited.Note || ev.MaxStep != 4 {
			t.Fatalf("event after the edit %+v: note %q max_step %d, want the edited ones", ev, ev.Note, ev.MaxStep)
		}
	}
}

// An edit of a judging field (right_value, priority) closes the open
// problem with an OK (reason resolved) and judges afresh from new points.
func TestJudgingEditClosesAndJudgesAfresh(t *testing.T) {
	for _, name := range []string{"right_value", "priority"} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			st := e.store()
			e.putStrategy(st, webCPU)
			e.startJudge(st, "j1", 1)
			for ts := int64(0); ts <= 120; ts += 60 {
				e.feed(st, ts)
			}
			edited := webCPU
			if name == "priority" {
				edited.Priority = 5
			} else {
				edited.RightValue = 50
			}
			e.clock.Store(150)
			e.putStrategy(st, edited)
			evs := e.eventsOf(webCPU.ID, 2)
			if evs[1].Status != event.OK || evs[1].Reason != event.ReasonResolved || evs[1].EventTime != 150 {
				t.Fatalf("after the edit %+v, want OK resolved at 150", evs[1])
			}
			for ts := int64(180); ts <= 300; ts += 60 {
				e.feed(st, ts)
			}
			want := []brief{{event.Problem, 1, 120}, {event.OK, 1, 150}, {event.Problem, 1, 300}}
			evs = e.eventsOf(webCPU.ID, len(want))
			if got := briefs(evs); !slices.Equal(got, want) {
				t.Fatalf("events %v, want %v", got, want)
			}
			if evs[2].Priority != edited.Priority || evs[2].RightValue != edited.RightValue {
				t.Fatalf("fresh problem %+v judged by the old version", evs[2])
			}
		})
	}
}

// Edits and deletes made while no judge runs are resolved by the next
// judge when it takes the shard: the state remembers the version it was
// judged under.
func TestEditWhileJudgeDown(t *testing.T) {
	cases := []struct {
		name string
		edit func(e *env, st store.Store)
		want []brief
	}{
		{"delete", func(e *env, st store.Store) { e.deleteStrategy(st, webCPU.ID) },
			[]brief{{event.Problem, 1, 120}, {event.OK, 1, 150}}},
		{"judging edit", func(e *env, st store.Store) {
			s := webCPU
			s.RightValue = 50
			e.putStrategy(st, s)
		}, []brief{{event.Problem, 1, 120}, {event.OK, 1, 150}, {event.Problem, 1, 300}}},
		{"note edit", func(e *env, st store.Store) {
			s := webCPU
			s.Note = "edited"
			e.putStrategy(st, s)
		}, []brief{{event.Problem, 1, 120}, {event.Problem, 2, 420}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			st := e.store()
			e.putStrategy(st, webCPU)
			_, stop := e.startJudge(st, "j1", 1)
			for ts := int64(0); ts <= 120; ts += 60 {
				e.feed(st, ts)
			}
			e.eventsOf(webCPU.ID, 1)
			stop()
			tc.edit(e, st)
			e.clock.Store(150)
			e.startJudge(e.store(), "j2", 1)
			if tc.name != "note edit" {
				e.eventsOf(webCPU.ID, 2) // the new judge's sweep closed the problem
			}
			if tc.name != "delete" {
				for ts := int64(180); ts <= 420; ts += 60 {
					e.feed(st, ts)
				}
			}
			evs := e.eventsOf(webCPU.ID, len(tc.want))
			if got := briefs(evs); !slices.Equal(got, tc.want) {
				t.Fatalf("events %v, want %v", got, tc.want)
			}
			if tc.name == "delete" {
				if _, err := st.Get(context.Background(), "monitor/judge/state/"+webCPUID); err == nil {
					t.Fatal("the state of the deleted strategy is still stored")
				}
			}
		})
	}
}

// A delete resolving many open problems, with the judge stopped in the
// middle and another one taking over: every problem gets exactly one OK.
func TestDeleteResolvesEachProblemOnceAcrossRestart(t *testing.T) {
	e := newEnv(t)
	st := e.store()
	e.putStrategy(st, webCPU)
	_, stop := e.startJudge(st, "j1", 1)
	const n = 40
	for ts := int64(0); ts <= 120; ts += 60 {
		e.clock.Store(ts)
		pts := make([]metric.Point, n)
		for i := range pts {
			pts[i] = cpu(ts, 95)
			pts[i].Endpoint = "web-" + strconv.Itoa(i)
		}
		e.push(0, pts...)
		last := event.ID(event.PrefixStrategy, webCPU.ID, event.PK("web-"+strconv.Itoa(n-1), "cpu.busy", map[string]string{"core": "all"}))
		e.judged(st, last, ts)
	}
	e.eventsOf(webCPU.ID, n)
	e.clock.Store(150)
	e.deleteStrategy(st, webCPU.ID)
	e.eventsOf(webCPU.ID, n+1) // the sweep has begun
	stop()
	e.startJudge(e.store(), "j2", 1)
	evs := e.eventsOf(webCPU.ID, 2*n)
	oks := map[string]int{}
	for _, ev := range evs {
		if ev.Status == event.OK {
			oks[ev.ID]++
		}
	}
	if len(oks) != n {
		t.Fatalf("%d series got an OK, want %d", len(oks), n)
	}
	for id, c := range oks {
		if c != 1 {
			t.Fatalf("%s got %d OKs", id, c)
		}
	}
	if got := len(e.eventsOf(webCPU.ID, 2*n)); got != 2*n {
		t.Fatalf("%d events, want %d", got, 2*n)
	}
}
