package judge

import (
	"math"
	"testing"
	"time"

	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/monitoring/strategy"
)

func FuzzUnmarshalState(f *testing.F) {
	st := State{Endpoint: "web-1", Metric: "m", Tags: map[string]string{"a": "b"}, Step: 60,
		Points: []Sample{{60, 1}, {120, 2}}, Last: LastEvent{Status: event.OK, Step: 1, Time: 120}}
	b, _ := st.MarshalBinary()
	f.Add(b)
	f.Add([]byte{1})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		var st State
		if err := st.UnmarshalBinary(b); err != nil {
			return
		}
		for i := 1; i < len(st.Points); i++ {
			if st.Points[i].T <= st.Points[i-1].T {
				t.Fatalf("decoded points out of order: %v", st.Points)
			}
		}
		again, err := st.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		// With the tags encoded apart: the same bytes.
		if withTags, err := st.AppendBinaryTags(nil, AppendTags(nil, st.Tags)); err != nil || string(withTags) != string(again) {
			t.Fatalf("AppendBinaryTags: %q %v, AppendBinary: %q", withTags, err, again)
		}
		var st2 State
		if err := st2.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoded state does not decode: %v", err)
		}
	})
}

// FuzzJudge feeds fuzzed values, times and counter types through every
// function: nothing panics, steps stay positive, and a PROBLEM's step
// never exceeds max_step (no renotify here).
func FuzzJudge(f *testing.F) {
	f.Add(uint8(0), uint8(4), int64(60), []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 200, 255, 3, 3, 3})
	f.Add(uint8(7), uint8(1), int64(1), []byte{9, 0, 0, 9, 0, 9, 0, 0, 0, 1})
	funcs := []string{"all(#3)", "max(#2)", "min(#1)", "sum(#3)", "avg(#2)", "diff(#2)", "pdiff(#3)",
		"lookup(#2,3)", "stddev(#4)", "kdiff(#2,2)", "kpdiff(#1,3)"}
	ops := []string{"==", "!=", "<", "<=", ">", ">="}
	f.Fuzz(func(t *testing.T, fn, op uint8, step int64, data []byte) {
		c, err := strategy.Compile(strategy.Strategy{ID: "f", Metric: "m", Func: funcs[int(fn)%len(funcs)],
			Operator: ops[int(op)%len(ops)], RightValue: 3, MaxStep: 2, MinInterval: 1, NoData: 2,
			RecoverAfter: int(op % 3)})
		if err != nil {
			t.Fatal(err)
		}
		var st State
		ts := int64(0)
		for i, b := range data {
			ts += int64(b%5) - 1 // sometimes late or duplicate
			v := float64(b>>3) - 8
			if b == 255 {
				v = math.NaN()
			}
			p := Point{Endpoint: "e", Metric: "m", Timestamp: ts * step, Step: step, Value: v, Type: CounterType(1 + i%3)}
			var evs []event.Event
			st, evs = Judge(st, c, []Point{p}, time.Unix(p.Timestamp+int64(b), 0))
			if i%4 == 3 {
				var more []event.Event
				st, more = Tick(st, c, time.Unix(p.Timestamp+int64(b)*step, 0))
				evs = append(evs, more...)
			}
			for _, e := range evs {
				if e.CurrentStep < 1 || (e.Status == event.Problem && e.CurrentStep > c.MaxStep) {
					t.Fatalf("event %+v", e)
				}
				if _, err := event.Marshal(e); err != nil {
					t.Fatal(err)
				}
			}
			if len(st.Points) > c.Window {
				t.Fatalf("%d points kept, window %d", len(st.Points), c.Window)
			}
		}
	})
}
