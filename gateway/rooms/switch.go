package rooms

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"time"

	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/ident"
)

// Bounds of a SwitchSpec.
const (
	// MaxSteps is the most steps a switch may have.
	MaxSteps = 20
	// DefaultStepInterval is the time between steps when a staged switch
	// gives none.
	DefaultStepInterval = time.Minute
	// MinStepInterval and MaxStepInterval bound Interval.
	MinStepInterval = time.Second
	MaxStepInterval = 24 * time.Hour
	// MaxDrain bounds Drain.
	MaxDrain = time.Hour
)

// ErrWrongState is returned (wrapped) by Pause, Resume and Abort when the
// switch is not in a state that allows them; the API maps it to 409.
var ErrWrongState = errors.New("not allowed in this state of the switch")

// SwitchSpec asks for a switch of a service's room weights, as the API and
// `wharf room switch` / `wharf room weights` send it.
type SwitchSpec struct {
	// ID names the switch in the history; the caller assigns it.
	ID      string `json:"id,omitempty"`
	Service string `json:"service"`
	// Who asked (the token's subject) and why; Who is required.
	Who string `json:"who"`
	Why string `json:"why,omitempty"`
	// From is the weights in effect now; To the weights to reach.
	From map[string]int `json:"from"`
	To   map[string]int `json:"to,omitempty"`
	// Fractions stages the switch: each step goes this far of the way
	// from From to To, e.g. [0.1, 0.5, 1]; strictly increasing, the last
	// 1. Steps instead gives each step's weights (To is then the last).
	// Neither means an immediate switch: one step, straight to To.
	Fractions []float64        `json:"fractions,omitempty"`
	Steps     []map[string]int `json:"steps,omitempty"`
	// Interval is the time between steps (0: DefaultStepInterval).
	Interval config.Duration `json:"interval,omitempty"`
	// Drain is how long the gateway keeps the pools of a room that lost
	// traffic after each step (see Record.DrainUntil); 0 is fine, since
	// in-flight requests finish anyway.
	Drain config.Duration `json:"drain,omitempty"`
}

// MoveAll is the weights that send all traffic to room: every room of from
// at 0 and room at the sum of from's weights (100 if that is 0), as
// `wharf room switch shop --to sh` asks.
func MoveAll(from map[string]int, room string) map[string]int {
	to := make(map[string]int, len(from)+1)
	sum := 0
	for r, w := range from {
		to[r] = 0
		sum += max(w, 0)
	}
	if sum <= 0 || sum > MaxWeight {
		sum = 100
	}
	to[room] = sum
	return to
}

// ParseSwitchSpec decodes and validates a switch request sent by a client.
func ParseSwitchSpec(b []byte) (SwitchSpec, error) {
	var s SwitchSpec
	if err := decodeStrict(b, &s); err != nil {
		return SwitchSpec{}, fmt.Errorf("cannot parse switch: %w", err)
	}
	if err := s.Validate(); err != nil {
		return SwitchSpec{}, fmt.Errorf("cannot parse switch: %w", err)
	}
	return s, nil
}

// Validate checks a spec; the error joins one *FieldError per problem.
func (s SwitchSpec) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if len(s.ID) > 128 {
		bad("id", "at most 128 bytes")
	}
	if !ident.Name(s.Service) {
		bad("service", "service names are 1-63 of a-z, 0-9, '-', '_', got %q", s.Service)
	}
	if s.Who == "" || len(s.Who) > 128 {
		bad("who", "must say who asks, at most 128 bytes")
	}
	if len(s.Why) > 1024 {
		bad("why", "at most 1024 bytes")
	}
	errs = append(errs, validateWeights("from", s.From)...)
	switch {
	case len(s.Steps) > 0 && len(s.Fractions) > 0:
		bad("steps", "give fractions or steps, not both")
	case len(s.Steps) > 0:
		if len(s.Steps) > MaxSteps {
			bad("steps", "at most %d steps, got %d", MaxSteps, len(s.Steps))
		}
		for i, w := range s.Steps {
			errs = append(errs, validateWeights(fmt.Sprintf("steps[%d]", i), w)...)
		}
		if s.To != nil && !maps.Equal(s.To, s.Steps[len(s.Steps)-1]) {
			bad("to", "must be the last step's weights (or left out)")
		}
	default:
		errs = append(errs, validateWeights("to", s.To)...)
		if len(s.Fractions) > MaxSteps {
			bad("fractions", "at most %d steps, got %d", MaxSteps, len(s.Fractions))
		}
		prev := 0.0
		for i, f := range s.Fractions {
			switch {
			case !(f > prev && f <= 1):
				bad(fmt.Sprintf("fractions[%d]", i), "must be in (0, 1] and above the one before, got %v", f)
			case i == len(s.Fractions)-1 && f != 1:
				bad(fmt.Sprintf("fractions[%d]", i), "the last step must go all the way (1), got %v", f)
			}
			prev = f
		}
	}
	if d := s.Interval.D(); d != 0 && (d < MinStepInterval || d > MaxStepInterval) {
		bad("interval", "must be between %s and %s, got %s", MinStepInterval, MaxStepInterval, d)
	}
	if d := s.Drain.D(); d < 0 || d > MaxDrain {
		bad("drain", "must be between 0 and %s, got %s", MaxDrain, d)
	}
	return errors.Join(errs...)
}

// Switch moves a service's room weights from one set to another in
// steps. It is a state machine driven by the caller's clock, with no
// goroutine: the controller calls Advance at a steady pace (the gateway's
// evaluator: every second) and applies the weights it returns, and calls
// Pause, Resume and Abort when an operator asks. Its whole state is a
// Record, which the controller stores after every change.
//
// Not safe for concurrent use.
type Switch struct {
	rec Record
	// version counts changes of the weights in effect; seen is the
	// version the last Advance returned.
	version, seen int
}

// NewSwitch starts the switch spec asks for at now. No step is in effect
// until the first Advance, which takes the first step at once.
func NewSwitch(spec SwitchSpec, now time.Time) (*Switch, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("cannot start switch: %w", err)
	}
	steps, err := planSteps(spec)
	if err != nil {
		return nil, fmt.Errorf("cannot start switch: %w", err)
	}
	interval := spec.Interval
	if interval == 0 {
		interval = config.Duration(DefaultStepInterval)
	}
	to := spec.To
	if len(spec.Steps) > 0 {
		to = spec.Steps[len(spec.Steps)-1]
	}
	s := &Switch{rec: Record{
		ID: spec.ID, Service: spec.Service, Who: spec.Who, Why: spec.Why,
		From: maps.Clone(spec.From), To: maps.Clone(to),
		Interval: interval, Drain: spec.Drain,
		StartedAt: now, State: SwitchRunning, Steps: steps, Current: -1, NextAt: now,
		Actions: []Action{{At: now, What: ActionStart, Who: spec.Who, Why: spec.Why}},
	}}
	return s, nil
}

// Restore rebuilds a switch from its stored Record, e.g. on another node
// after the controller moved. The first Advance reports a change, so the
// caller applies the weights in effect.
func Restore(r Record) (*Switch, error) {
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("cannot restore switch %s: %w", r.ID, err)
	}
	return &Switch{rec: r.Clone(), version: 1}, nil
}

// planSteps is the weights of every step of spec.
func planSteps(spec SwitchSpec) ([]Step, error) {
	if len(spec.Steps) > 0 {
		steps := make([]Step, len(spec.Steps))
		for i, w := range spec.Steps {
			steps[i] = Step{Weights: maps.Clone(w)}
		}
		return steps, nil
	}
	fractions := spec.Fractions
	if len(fractions) == 0 {
		fractions = []float64{1}
	}
	steps := make([]Step, len(fractions))
	for i, f := range fractions {
		w := interpolate(spec.From, spec.To, f)
		if !anyPositive(w) {
			return nil, &FieldError{Field: fmt.Sprintf("fractions[%d]", i), Msg: "step would have no positive weight"}
		}
		steps[i] = Step{Fraction: f, Weights: w}
	}
	return steps, nil
}

func anyPositive(w map[string]int) bool {
	for _, v := range w {
		if v > 0 {
			return true
		}
	}
	return false
}

// interpolate is the weights a fraction t of the way from from to to. The
// last step (t = 1) is to itself. When both sum to the same total of at
// least 100, weights move on that scale (bj=100 → bj=90, sh=10 at 0.1);
// otherwise both are first scaled to a sum of 1000, so that it is the
// shares that move evenly.
func interpolate(from, to map[string]int, t float64) map[string]int {
	if t >= 1 {
		return maps.Clone(to)
	}
	sumF, sumT := 0, 0
	for _, w := range from {
		sumF += w
	}
	for _, w := range to {
		sumT += w
	}
	scaleF, scaleT := 1.0, 1.0
	if sumF != sumT || sumF < 100 {
		scaleF, scaleT = 1000/float64(sumF), 1000/float64(sumT)
	}
	out := make(map[string]int, len(from)+len(to))
	for _, m := range []map[string]int{from, to} {
		for r := range m {
			a, b := float64(from[r])*scaleF, float64(to[r])*scaleT
			out[r] = int(math.Round(a + t*(b-a)))
		}
	}
	return out
}

// Advance takes the next step if the switch is running and it is due at
// now, and returns the weights in effect (a copy) and whether they changed
// since the previous Advance (a step, or an Abort in between). It takes at
// most one step per call: a controller that was away for several intervals
// resumes the plan where it stopped instead of jumping to the end. Each
// step's StartedAt is the now it was taken at; the next is due Interval
// later.
func (s *Switch) Advance(now time.Time) (map[string]int, bool) {
	r := &s.rec
	if r.State == SwitchRunning && !now.Before(r.NextAt) {
		r.Current++
		r.Steps[r.Current].StartedAt = now
		s.version++
		if r.Current == len(r.Steps)-1 {
			r.State, r.EndedAt, r.NextAt = SwitchDone, now, time.Time{}
			r.Actions = append(r.Actions, Action{At: now, What: ActionDone})
		} else {
			r.NextAt = now.Add(r.Interval.D())
		}
	}
	changed := s.seen != s.version
	s.seen = s.version
	return r.Weights(), changed
}

// Pause stops a running switch at its current step; Resume carries on
// with what was left of the interval.
func (s *Switch) Pause(now time.Time, who, why string) error {
	r := &s.rec
	if r.State != SwitchRunning {
		return fmt.Errorf("cannot pause a switch that is %s: %w", r.State, ErrWrongState)
	}
	r.State = SwitchPaused
	r.Remaining = config.Duration(max(r.NextAt.Sub(now), 0))
	r.NextAt = time.Time{}
	r.Actions = append(r.Actions, Action{At: now, What: ActionPause, Who: who, Why: why})
	return nil
}

// Resume continues a paused switch; its next step is due after what was
// left of the interval when it was paused.
func (s *Switch) Resume(now time.Time, who, why string) error {
	r := &s.rec
	if r.State != SwitchPaused {
		return fmt.Errorf("cannot resume a switch that is %s: %w", r.State, ErrWrongState)
	}
	r.State = SwitchRunning
	r.NextAt = now.Add(r.Remaining.D())
	r.Remaining = 0
	r.Actions = append(r.Actions, Action{At: now, What: ActionResume, Who: who, Why: why})
	return nil
}

// Abort ends a running or paused switch and puts its starting weights
// (From) back in effect at once; the rooms that had gained traffic drain
// from now (Record.DrainUntil).
func (s *Switch) Abort(now time.Time, who, why string) error {
	r := &s.rec
	if !r.Active() {
		return fmt.Errorf("cannot abort a switch that is %s: %w", r.State, ErrWrongState)
	}
	r.State, r.EndedAt, r.NextAt, r.Remaining = SwitchAborted, now, time.Time{}, 0
	r.Actions = append(r.Actions, Action{At: now, What: ActionAbort, Who: who, Why: why})
	s.version++
	return nil
}

// State is where the switch is.
func (s *Switch) State() SwitchState { return s.rec.State }

// Weights is the weights in effect (a copy).
func (s *Switch) Weights() map[string]int { return s.rec.Weights() }

// NextAt is when a running switch takes its next step; zero otherwise.
func (s *Switch) NextAt() time.Time { return s.rec.NextAt }

// Record is a copy of the switch's whole state, to store.
func (s *Switch) Record() Record { return s.rec.Clone() }
