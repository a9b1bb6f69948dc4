package plan

import (
	"slices"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/wire"
)

// Summary is a deploy at a glance, for `wharf deploy` and `wharf deploy
// show` to render.
type Summary struct {
	ID       string `json:"id"`
	App      string `json:"app"`
	Version  string `json:"version"`
	Previous string `json:"previous,omitempty"`
	Rollback bool   `json:"rollback,omitempty"`
	State    State  `json:"state"`
	// Step is the current step, counting from 1 (0 before the first);
	// Steps how many there are.
	Step  int `json:"step"`
	Steps int `json:"steps"`
	// Targets is how many targets; Counts how many are in each phase.
	Targets int                `json:"targets"`
	Counts  map[wire.Phase]int `json:"counts"`
	// Duration is from the first Step to the end (0 until Done).
	Duration time.Duration `json:"duration"`
	// TargetMedian and TargetMax are how long healthy targets took from
	// their deploy task being sent to healthy.
	TargetMedian time.Duration `json:"target_median"`
	TargetMax    time.Duration `json:"target_max"`
	// NextAt is when a timed pause between steps ends.
	NextAt time.Time `json:"next_at,omitzero"`
	Error  string    `json:"error,omitempty"`
}

// Summary sums r up.
func (r *Record) Summary() Summary {
	s := Summary{
		ID: r.ID, App: r.App, Version: r.Version, Previous: r.Previous.Version, Rollback: r.Rollback,
		State: r.State, Step: r.Current + 1, Steps: len(r.Steps), Targets: len(r.Targets),
		Counts: make(map[wire.Phase]int), NextAt: r.NextAt, Error: r.Error,
	}
	if r.Done() && !r.StartedAt.IsZero() {
		s.Duration = r.EndedAt.Sub(r.StartedAt)
	}
	var took []time.Duration
	for _, t := range r.Targets {
		s.Counts[t.State]++
		if t.State == wire.PhaseHealthy && t.Kind == wire.TaskDeploy {
			took = append(took, t.EndedAt.Sub(t.StartedAt))
		}
	}
	if len(took) > 0 {
		slices.Sort(took)
		s.TargetMedian, s.TargetMax = took[(len(took)-1)/2], took[len(took)-1]
	}
	return s
}

// Window is the stretch of time a step's error rate is measured over.
type Window struct {
	Step     int
	From, To time.Time
}

// GateWindow returns the window whose measurement the current step's
// health gate needs, while it needs one: the caller measures the new
// version's requests and errors at the gateway between From and To and
// passes them to Step as Observations.Gate (with Step set). ok is false
// when no gate waits (no error-rate gate, or the step's targets are not
// all healthy yet).
func (r *Record) GateWindow() (w Window, ok bool) {
	if r.State != StateRunning && r.State != StatePaused || r.Current < 0 || r.Spec.Health.ErrorRateMax == 0 {
		return Window{}, false
	}
	st := r.Steps[r.Current]
	if st.HealthyAt.IsZero() || !st.EndedAt.IsZero() {
		return Window{}, false
	}
	return Window{Step: r.Current, From: st.HealthyAt, To: st.HealthyAt.Add(r.Spec.gateWindow())}, true
}

// Wake is the earliest time after now at which Step would act on the
// clock alone (a pause, step deadline, gate window, task timeout or
// resend comes due); zero if none. Agent loss is not foreseen: keep
// calling Step every few seconds while the deploy is not Done.
func (r *Record) Wake(now time.Time) time.Time {
	var w time.Time
	at := func(t time.Time) {
		if t.After(now) && (w.IsZero() || t.Before(w)) {
			w = t
		}
	}
	if r.Done() {
		return w
	}
	if r.State == StateRunning && r.Current >= 0 {
		st := r.Steps[r.Current]
		switch {
		case !st.EndedAt.IsZero():
			at(r.NextAt)
		case st.HealthyAt.IsZero():
			at(st.Deadline)
		case r.Spec.Health.ErrorRateMax > 0:
			end := st.HealthyAt.Add(r.Spec.gateWindow())
			at(end)
			at(end.Add(GateGrace))
		}
	}
	timeout := r.Spec.taskTimeout()
	for _, t := range r.Targets {
		if t.inFlight() {
			at(t.IssuedAt.Add(timeout))
			if t.Progress.Rank() == 0 {
				at(t.SentAt.Add(ResendAfter))
			}
		}
	}
	return w
}
