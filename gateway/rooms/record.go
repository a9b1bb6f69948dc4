package rooms

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/ident"
)

// SwitchState is where a Switch is.
type SwitchState string

// Switch states. Running and paused switches are active; aborted and done
// are final.
const (
	SwitchRunning SwitchState = "running"
	SwitchPaused  SwitchState = "paused"
	SwitchAborted SwitchState = "aborted"
	SwitchDone    SwitchState = "done"
)

// Action names in a Record's log.
const (
	ActionStart  = "start"
	ActionPause  = "pause"
	ActionResume = "resume"
	ActionAbort  = "abort"
	ActionDone   = "done"
)

// Step is one step of a switch: the weights it puts in effect and when it
// did (zero until then).
type Step struct {
	// Fraction is how far from From to To this step goes, in (0, 1]; 0
	// for a switch given as explicit step weights.
	Fraction  float64        `json:"fraction,omitempty"`
	Weights   map[string]int `json:"weights"`
	StartedAt time.Time      `json:"started_at,omitzero"`
}

// Action is one entry of a switch's log: who started, paused, resumed or
// aborted it, and when it finished.
type Action struct {
	At   time.Time `json:"at"`
	What string    `json:"what"`
	Who  string    `json:"who,omitempty"`
	Why  string    `json:"why,omitempty"`
}

// Record is the whole state of a Switch as JSON: the history entry that
// `wharf room history` shows, and what a controller stores after every
// change so that another node can Restore the switch and carry on.
type Record struct {
	ID      string         `json:"id,omitempty"`
	Service string         `json:"service"`
	Who     string         `json:"who"`
	Why     string         `json:"why,omitempty"`
	From    map[string]int `json:"from"`
	To      map[string]int `json:"to"`
	// Interval is the time between steps; Drain how long the gateway
	// should keep the pools of a room that lost traffic after each step
	// (see DrainUntil).
	Interval  config.Duration `json:"interval"`
	Drain     config.Duration `json:"drain"`
	StartedAt time.Time       `json:"started_at"`
	EndedAt   time.Time       `json:"ended_at,omitzero"`
	State     SwitchState     `json:"state"`
	Steps     []Step          `json:"steps"`
	// Current is the index of the step in effect, -1 before the first.
	Current int `json:"current"`
	// NextAt is when a running switch takes its next step; Remaining is
	// what was left of the interval when it was paused.
	NextAt    time.Time       `json:"next_at,omitzero"`
	Remaining config.Duration `json:"remaining,omitempty"`
	Actions   []Action        `json:"actions"`
}

// Weights is the weights r puts in effect: the current step's, or From
// before the first step and after an abort. The map is a copy.
func (r *Record) Weights() map[string]int {
	if r.State == SwitchAborted || r.Current < 0 || r.Current >= len(r.Steps) {
		return maps.Clone(r.From)
	}
	return maps.Clone(r.Steps[r.Current].Weights)
}

// ChangedAt is when the weights in effect took effect: the current step's
// start, or the abort; zero before the first step.
func (r *Record) ChangedAt() time.Time {
	switch {
	case r.State == SwitchAborted:
		return r.EndedAt
	case r.Current >= 0 && r.Current < len(r.Steps):
		return r.Steps[r.Current].StartedAt
	}
	return time.Time{}
}

// DrainUntil is ChangedAt + Drain: until then the gateway keeps the
// upstream pools of rooms whose weight went down, or to 0, at that change
// (their in-flight requests finish anyway; the drain also covers requests
// a gateway node picked just before it saw the change). Zero before the
// first step.
func (r *Record) DrainUntil() time.Time {
	t := r.ChangedAt()
	if t.IsZero() {
		return t
	}
	return t.Add(r.Drain.D())
}

// Active reports whether the switch is running or paused.
func (r *Record) Active() bool { return r.State == SwitchRunning || r.State == SwitchPaused }

// Clone returns a deep copy of r.
func (r *Record) Clone() Record {
	c := *r
	c.From, c.To = maps.Clone(r.From), maps.Clone(r.To)
	c.Steps = slices.Clone(r.Steps)
	for i := range c.Steps {
		c.Steps[i].Weights = maps.Clone(c.Steps[i].Weights)
	}
	c.Actions = slices.Clone(r.Actions)
	return c
}

// Validate checks that r is a coherent switch, as Restore needs it; the
// error joins one *FieldError per problem.
func (r *Record) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if !ident.Name(r.Service) {
		bad("service", "service names are 1-63 of a-z, 0-9, '-', '_', got %q", r.Service)
	}
	errs = append(errs, validateWeights("from", r.From)...)
	errs = append(errs, validateWeights("to", r.To)...)
	if len(r.Steps) == 0 || len(r.Steps) > MaxSteps {
		bad("steps", "must have 1 to %d steps, got %d", MaxSteps, len(r.Steps))
	}
	for i, s := range r.Steps {
		errs = append(errs, validateWeights(fmt.Sprintf("steps[%d].weights", i), s.Weights)...)
	}
	if r.Current < -1 || r.Current >= len(r.Steps) {
		bad("current", "must be between -1 and %d, got %d", len(r.Steps)-1, r.Current)
	}
	if r.Interval < 0 || r.Drain < 0 || r.Remaining < 0 {
		bad("interval", "durations must not be negative")
	}
	switch r.State {
	case SwitchRunning:
		if r.NextAt.IsZero() {
			bad("next_at", "a running switch needs the time of its next step")
		}
	case SwitchPaused, SwitchAborted:
	case SwitchDone:
		if r.Current != len(r.Steps)-1 {
			bad("current", "a done switch is at its last step")
		}
	default:
		bad("state", "must be running, paused, aborted or done, got %q", r.State)
	}
	return errors.Join(errs...)
}
