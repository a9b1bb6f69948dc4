package judge

import (
	"math"
	"time"

	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/monitoring/strategy"
)

// Judge feeds points of one series (oldest first) through strategy c and
// returns the next state and the events to send, in order (nil when none).
// now is the judge's clock (Falcon's time of arrival): it decides the run
// window (minute of the day in now's location) and min_interval /
// renotify_every. A point not newer than the series' newest is neither
// stored nor judged. Each stored point is judged when the strategy is in
// its run window:
//
//   - not enough values for the function: no decision;
//   - condition holds and no problem is open (no event yet, or OK, or
//     NODATA): PROBLEM with current_step 1;
//   - condition holds and a PROBLEM is open: PROBLEM with current_step+1
//     while current_step < max_step, only when the oldest value read is
//     newer than the last event and now is min_interval after it; past
//     max_step nothing, or with renotify_every the same rule at that
//     interval;
//   - condition does not hold and a problem is open: OK with current_step 1
//     — with recover, only when the recover condition holds; with
//     recover_after N, only on the N-th such evaluation in a row.
//
// Judge does not allocate unless it sends an event (or the window grows).
func Judge(st State, c *strategy.Compiled, pts []Point, now time.Time) (State, []event.Event) {
	var evs []event.Event
	active := c.Run.Always() || c.Run.Active(now.Hour()*60+now.Minute())
	sec := now.Unix()
	for i := range pts {
		p := &pts[i]
		if !st.push(p, c.Window) || !active {
			continue
		}
		w := window{pts: st.Points, rate: p.Type.rate()}
		fire := evaluate(&c.Fire, w)
		if !fire.enough {
			continue
		}
		if fire.triggered {
			st.Good = 0
			if ev, ok := problem(&st, c, fire, sec); ok {
				evs = append(evs, newEvent(&st, c, ev, p.Timestamp, fire.left))
			}
			continue
		}
		if !st.Last.open() {
			continue
		}
		left, reason := fire.left, event.ReasonThreshold
		if c.HasRecover {
			rec := evaluate(&c.Recover, w)
			if !rec.enough || !rec.triggered {
				st.Good = 0
				continue
			}
			left, reason = rec.left, event.ReasonRecover
		}
		if st.Good++; st.Good < c.RecoverAfter {
			continue
		}
		if c.RecoverAfter > 1 {
			reason = event.ReasonRecover
		}
		st.Good = 0
		st.Last = LastEvent{Status: event.OK, Step: 1, Time: p.Timestamp}
		evs = append(evs, newEvent(&st, c, reason, p.Timestamp, left))
	}
	return st, evs
}

// problem applies Falcon's sendEventIfNeed to a triggered evaluation and
// updates st.Last when a PROBLEM is due.
func problem(st *State, c *strategy.Compiled, r result, now int64) (event.Reason, bool) {
	last := st.Last
	if last.Status != event.Problem {
		if c.MaxStep == 0 {
			return "", false
		}
		st.Last = LastEvent{Status: event.Problem, Step: 1, Time: st.Points[len(st.Points)-1].T}
		return event.ReasonThreshold, true
	}
	interval, reason := c.MinInterval, event.ReasonThreshold
	if last.Step >= c.MaxStep {
		if c.RenotifyEvery == 0 {
			return "", false
		}
		interval, reason = c.RenotifyEvery, event.ReasonRenotify
	}
	if r.oldest <= last.Time || now-last.Time < interval {
		return "", false
	}
	st.Last = LastEvent{Status: event.Problem, Step: last.Step + 1, Time: st.Points[len(st.Points)-1].T}
	return reason, true
}

// Tick is the nodata rule (opt-in, strategy nodata N): when the series'
// newest point is N steps or more older than now, and the strategy is in
// its run window, it sends one NODATA event (current_step 1, event_time
// now, left_value null) and remembers it; nothing more until points come
// back and are judged (then a good evaluation sends OK, a bad one PROBLEM
// with current_step 1). A series silent is never reported OK.
func Tick(st State, c *strategy.Compiled, now time.Time) (State, []event.Event) {
	n := len(st.Points)
	if c.NoData == 0 || n == 0 || st.Step <= 0 || st.Last.Status == event.NoData {
		return st, nil
	}
	if !c.Run.Always() && !c.Run.Active(now.Hour()*60+now.Minute()) {
		return st, nil
	}
	sec := now.Unix()
	if sec-st.Points[n-1].T < int64(c.NoData)*st.Step {
		return st, nil
	}
	st.Good = 0
	st.Last = LastEvent{Status: event.NoData, Step: 1, Time: sec}
	return st, []event.Event{newEvent(&st, c, event.ReasonNoData, sec, math.NaN())}
}

// Resolve closes an open problem (PROBLEM or NODATA) explicitly with an OK
// (current_step 1, event_time now, left_value null, reason "resolved"),
// for a consumer whose strategy was deleted, or edited so that it no
// longer matches the series or its condition changed: never a silent loss
// of the recovery. c is the strategy as it was. Nothing open: no event.
func Resolve(st State, c *strategy.Compiled, now time.Time) (State, []event.Event) {
	if !st.Last.open() {
		return st, nil
	}
	sec := now.Unix()
	st.Good = 0
	st.Last = LastEvent{Status: event.OK, Step: 1, Time: sec}
	return st, []event.Event{newEvent(&st, c, event.ReasonResolved, sec, math.NaN())}
}

// newEvent builds the event for st.Last.
func newEvent(st *State, c *strategy.Compiled, reason event.Reason, t int64, left float64) event.Event {
	s := &c.Source
	tags := make(map[string]string, len(st.Tags))
	for k, v := range st.Tags {
		tags[k] = v
	}
	return event.Event{
		Version:     event.Version,
		ID:          event.ID(c.Prefix, s.ID, event.PK(st.Endpoint, st.Metric, st.Tags)),
		Status:      st.Last.Status,
		CurrentStep: st.Last.Step,
		EventTime:   t,
		StrategyID:  s.ID,
		Team:        s.Team,
		Endpoint:    st.Endpoint,
		Metric:      st.Metric,
		PushedTags:  tags,
		LeftValue:   event.Value(left),
		Func:        s.Func,
		Operator:    s.Operator,
		RightValue:  s.RightValue,
		MaxStep:     s.MaxStep,
		Priority:    s.Priority,
		Note:        s.Note,
		Expression:  s.Expression,
		Reason:      reason,
	}
}
