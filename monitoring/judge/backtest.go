package judge

import (
	"time"

	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/monitoring/strategy"
)

// BacktestOptions tune Backtest.
type BacktestOptions struct {
	// Location is the zone of run windows (nil: UTC).
	Location *time.Location
	// End, when set (Unix seconds), is the end of the replayed range: the
	// nodata rule is applied up to it after the last point.
	End int64
}

// Backtest replays stored points (of any series, oldest first) through
// strategy c as the live judge would have judged them on arrival — each
// point judged with now = its own time — and returns the events it would
// have sent, in order. Points the strategy does not match are ignored.
// With nodata, a silent series gives its NODATA event at the moment the
// rule first holds (newest point time + nodata × step).
func Backtest(c *strategy.Compiled, pts []Point, opts BacktestOptions) []event.Event {
	loc := opts.Location
	if loc == nil {
		loc = time.UTC
	}
	states := map[string]*State{}
	var order []string
	var out []event.Event
	tick := func(st *State, before int64, inclusive bool) {
		n := len(st.Points)
		if c.NoData == 0 || n == 0 || st.Step <= 0 {
			return
		}
		due := st.Points[n-1].T + int64(c.NoData)*st.Step
		if due < before || (inclusive && due == before) {
			var evs []event.Event
			*st, evs = Tick(*st, c, time.Unix(due, 0).In(loc))
			out = append(out, evs...)
		}
	}
	for i := range pts {
		p := pts[i]
		if !c.Match(p.Endpoint, p.Metric, p.Tags) {
			continue
		}
		pk := event.PK(p.Endpoint, p.Metric, p.Tags)
		st, ok := states[pk]
		if !ok {
			st = &State{}
			states[pk] = st
			order = append(order, pk)
		}
		tick(st, p.Timestamp, false)
		var evs []event.Event
		*st, evs = Judge(*st, c, pts[i:i+1], time.Unix(p.Timestamp, 0).In(loc))
		out = append(out, evs...)
	}
	if opts.End > 0 {
		for _, pk := range order {
			tick(states[pk], opts.End, true)
		}
	}
	return out
}
