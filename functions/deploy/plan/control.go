package plan

import (
	"fmt"
	"time"
)

// Pause stops a running deploy from sending new tasks. Tasks in flight
// go on, and a target that fails still stops the rollout (and rolls back
// with auto_rollback). Resume carries on; the step deadline and a timed
// pause between steps are moved on by the time spent paused.
func (r *Record) Pause(now time.Time, who, why string) error {
	if r.State != StateRunning {
		return fmt.Errorf("cannot pause a deploy that is %s: %w", r.State, ErrWrongState)
	}
	r.State, r.PausedAt = StatePaused, now
	r.note(now, WhatPaused, who, why)
	return nil
}

// Resume continues a deploy paused by Pause, or waiting after a step
// (strategy.pause manual), whose next step then starts at the next Step.
func (r *Record) Resume(now time.Time, who, why string) error {
	switch r.State {
	case StatePaused:
		d := max(now.Sub(r.PausedAt), 0)
		if st := &r.Steps[r.Current]; !st.Deadline.IsZero() {
			st.Deadline = st.Deadline.Add(d)
		}
		if !r.NextAt.IsZero() {
			r.NextAt = r.NextAt.Add(d)
		}
		r.PausedAt = time.Time{}
	case StateWaiting:
		r.NextAt = now
	default:
		return fmt.Errorf("cannot resume a deploy that is %s: %w", r.State, ErrWrongState)
	}
	r.State = StateRunning
	r.note(now, WhatResumed, who, why)
	return nil
}

// Abort ends a pending, running, paused or waiting deploy: no new task
// is sent; with auto_rollback and a previous version, the targets already
// sent the new version are rolled back (state rolling_back, then
// rolled_back or failed, with Error saying who aborted), else the state
// is aborted. A rollback under way cannot be aborted. The rollback tasks
// come from the next Step.
func (r *Record) Abort(now time.Time, who, why string) error {
	switch r.State {
	case StatePending, StateRunning, StatePaused, StateWaiting:
	default:
		return fmt.Errorf("cannot abort a deploy that is %s: %w", r.State, ErrWrongState)
	}
	r.note(now, WhatAborted, who, why)
	r.Error = "aborted by " + who
	if why != "" {
		r.Error += ": " + why
	}
	if r.Current >= 0 {
		if st := &r.Steps[r.Current]; st.EndedAt.IsZero() {
			st.EndedAt, st.Error = now, "aborted"
		}
	}
	r.retreatOrEnd(now, StateAborted, WhatAborted)
	return nil
}
