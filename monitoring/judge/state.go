package judge

import (
	"github.com/wharfhq/wharf/monitoring/event"
)

// LastEvent is what the judge remembers of the last event it sent for a
// series under a strategy (Falcon's g.LastEvents entry).
type LastEvent struct {
	// Status is empty when no event was ever sent.
	Status event.Status
	// Step is the event's current_step.
	Step int
	// Time is the event's event_time.
	Time int64
}

// open reports whether the last event leaves something to recover from.
func (l LastEvent) open() bool { return l.Status == event.Problem || l.Status == event.NoData }

// Open reports whether the last event left a problem open (PROBLEM or
// NODATA, not followed by an OK).
func (l LastEvent) Open() bool { return l.open() }

// State is the judge's memory of one series under one strategy. The zero
// value is a series never seen. Judge and Tick take a State and return the
// next one, which may share memory (Points) with the one given: keep only
// the returned State.
type State struct {
	// Endpoint, Metric and Tags identify the series (from its newest point;
	// Tags is the point's map, not a copy).
	Endpoint string
	Metric   string
	Tags     map[string]string
	// Step is the newest point's step (nodata counts in it).
	Step int64
	// Points are the newest raw points, oldest first, at most the
	// strategy's Window.
	Points []Sample
	// Last is the last event sent.
	Last LastEvent
	// Good counts good evaluations in a row while a problem is open
	// (recover_after).
	Good int
}

// push appends p to st.Points, keeping at most window points; a point not
// newer than the newest one (duplicate or out of order) is refused, and so
// is one with a time <= 0 unless it is the first, as Falcon's
// PushFrontAndMaintain does.
func (st *State) push(p *Point, window int) bool {
	n := len(st.Points)
	if n > 0 && (p.Timestamp <= st.Points[n-1].T || p.Timestamp <= 0) {
		return false
	}
	switch {
	case cap(st.Points) < window:
		keep := st.Points[max(0, n-window+1):]
		pts := make([]Sample, len(keep), window)
		copy(pts, keep)
		st.Points = pts
	case n >= window:
		copy(st.Points, st.Points[n-window+1:])
		st.Points = st.Points[:window-1]
	}
	st.Points = append(st.Points, Sample{T: p.Timestamp, V: p.Value})
	st.Endpoint, st.Metric, st.Tags, st.Step = p.Endpoint, p.Metric, p.Tags, p.Step
	return true
}
