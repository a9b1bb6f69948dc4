package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/ident"
)

// Bounds of a Record.
const (
	// MaxEvents is how many events a target keeps (the latest).
	MaxEvents = 50
	// MaxTimeline is how many timeline entries a record keeps: the first
	// (created) and the latest.
	MaxTimeline = 200
)

// State is where a deploy is.
type State string

// Deploy states. Succeeded, failed, rolled_back and aborted are final.
const (
	// StatePending: created, the first Step has not run yet.
	StatePending State = "pending"
	// StateRunning: sending tasks, gating steps, or in a timed pause
	// between steps (Record.NextAt).
	StateRunning State = "running"
	// StatePaused: paused by an operator; no new task is sent, tasks in
	// flight go on and a failure still stops the rollout.
	StatePaused State = "paused"
	// StateWaiting: a step is done and strategy.pause is manual; Resume
	// starts the next step.
	StateWaiting     State = "waiting"
	StateSucceeded   State = "succeeded"
	StateFailed      State = "failed"
	StateRollingBack State = "rolling_back"
	StateRolledBack  State = "rolled_back"
	StateAborted     State = "aborted"
)

// Release is one version of an app's artifact.
type Release struct {
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
}

// Record is the whole state of one deploy as JSON: what `wharf deploy
// show` renders and what the functions store after every change, so
// that any instance can load it and carry on (Apply, Step, Pause,
// Resume, Abort). Its methods are not safe for concurrent use; the caller
// serialises them (lease or compare-and-set on the stored record).
type Record struct {
	ID      string `json:"id"`
	App     string `json:"app"`
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
	// Previous is the version a rollback goes back to; empty for an
	// app's first deploy, which then cannot roll back.
	Previous Release `json:"previous,omitzero"`
	// Rollback marks a deploy made by NewRollback (an operator's
	// rollback), which the caller may run while another deploy runs.
	Rollback bool   `json:"rollback,omitempty"`
	Who      string `json:"who"`
	Why      string `json:"why,omitempty"`
	// CreatedAt is NewRecord's now; StartedAt the first Step's; EndedAt
	// when the record reached a final state.
	CreatedAt time.Time `json:"created_at"`
	StartedAt time.Time `json:"started_at,omitzero"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	State     State     `json:"state"`
	// Error says why a deploy failed, rolled back or was aborted.
	Error string `json:"error,omitempty"`
	// Spec is the request with every default filled in.
	Spec  Spec        `json:"spec"`
	Steps []StepState `json:"steps"`
	// Current is the index of the step under way (or last done), -1
	// before the first Step.
	Current int `json:"current"`
	// NextAt is when the timed pause after the current step ends.
	NextAt time.Time `json:"next_at,omitzero"`
	// PausedAt is when an operator paused the deploy.
	PausedAt time.Time     `json:"paused_at,omitzero"`
	Targets  []TargetState `json:"targets"`
	Timeline []Entry       `json:"timeline"`
	// Warnings say how the strategy could not be honoured on the
	// targets (Warnings), e.g. canary steps that collapsed.
	Warnings []string       `json:"warnings,omitempty"`
	index    map[string]int // host → index in Targets, built lazily
}

// StepState is one step of the plan.
type StepState struct {
	// Targets are indexes into Record.Targets.
	Targets   []int     `json:"targets"`
	StartedAt time.Time `json:"started_at,omitzero"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	// Deadline is when the step times out unless all its targets are
	// healthy; an operator's pause moves it on by the paused time.
	Deadline time.Time `json:"deadline,omitzero"`
	// HealthyAt is when all the step's targets were healthy: the
	// error-rate window starts then.
	HealthyAt time.Time   `json:"healthy_at,omitzero"`
	Gate      *GateResult `json:"gate,omitempty"`
	Error     string      `json:"error,omitempty"`
}

// GateResult is the verdict of a step's health gate.
type GateResult struct {
	At     time.Time `json:"at"`
	Passed bool      `json:"passed"`
	// ErrorRate and Requests are the gateway's measurement of the new
	// version in the window (zero without an error-rate gate).
	ErrorRate float64 `json:"error_rate"`
	Requests  int     `json:"requests"`
	Msg       string  `json:"msg,omitempty"`
}

// TargetState is one target of a deploy and its current task.
type TargetState struct {
	Host  string     `json:"host"`
	Room  string     `json:"room,omitempty"`
	State wire.Phase `json:"state"`
	// TaskID is the generation of the target's current task: 0 before
	// any, 1 for the deploy task, 2 for its rollback. Events of an older
	// task are ignored.
	TaskID int           `json:"task_id,omitempty"`
	Kind   wire.TaskKind `json:"kind,omitempty"`
	// Progress is the latest phase of the current task, as the agent
	// reported it (or failed, when the task timed out or its agent was
	// lost).
	Progress wire.Phase `json:"progress,omitempty"`
	// IssuedAt is when the current task was first sent, SentAt when last
	// (re)sent, Sends how many times.
	IssuedAt time.Time `json:"issued_at,omitzero"`
	SentAt   time.Time `json:"sent_at,omitzero"`
	Sends    int       `json:"sends,omitempty"`
	// Moved is set once a deploy task was sent: the host may run the new
	// version, so a rollback must visit it.
	Moved bool `json:"moved,omitempty"`
	// StartedAt is when the deploy task was first sent; EndedAt when the
	// target's last task ended.
	StartedAt time.Time `json:"started_at,omitzero"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	// Error says why the deploy task failed, or later the rollback task;
	// a successful rollback keeps the deploy's error.
	Error  string        `json:"error,omitempty"`
	Events []TargetEvent `json:"events"`
	// Dropped counts the events dropped to keep MaxEvents.
	Dropped int `json:"dropped,omitempty"`
}

// TargetEvent is one entry of a target's history: an agent's event, or
// the record's own note (task sent, timed out, agent lost).
type TargetEvent struct {
	At     time.Time  `json:"at"`
	TaskID int        `json:"task_id"`
	State  wire.Phase `json:"state"`
	Msg    string     `json:"msg,omitempty"`
	// Duration is how long the phase took, as the agent measured it.
	Duration wire.Duration `json:"duration,omitempty"`
	// LogTail is the end of the agent's log for the phase, at most
	// MaxLogLines lines and MaxLogBytes bytes.
	LogTail string `json:"log_tail,omitempty"`
}

// Entry is one entry of a deploy's timeline.
type Entry struct {
	At   time.Time `json:"at"`
	What string    `json:"what"`
	Who  string    `json:"who,omitempty"`
	Msg  string    `json:"msg,omitempty"`
}

// Timeline entry names (Entry.What).
const (
	WhatCreated     = "created"
	WhatStarted     = "started"
	WhatStep        = "step"
	WhatStepDone    = "step_done"
	WhatStepFailed  = "step_failed"
	WhatWaiting     = "waiting"
	WhatPaused      = "paused"
	WhatResumed     = "resumed"
	WhatAborted     = "aborted"
	WhatRollingBack = "rolling_back"
	WhatRolledBack  = "rolled_back"
	WhatSucceeded   = "succeeded"
	WhatFailed      = "failed"
)

// ErrWrongState is returned (wrapped) by Pause, Resume and Abort when the
// deploy is not in a state that allows them; the API maps it to 409.
var ErrWrongState = errors.New("not allowed in this state of the deploy")

// NewRecord creates the record of a deploy of rel (whose version must be
// spec.Version) to targets, planned by Plan. previous is the app's last
// good release, the one a rollback goes back to (zero when there is
// none). The deploy starts (state running) at the first Step.
func NewRecord(id, app string, rel, previous Release, who string, spec Spec, targets []Target, now time.Time) (*Record, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if id == "" || len(id) > 128 {
		bad("id", "must be 1-128 bytes")
	}
	if !ident.Name(app) {
		bad("app", "app names are 1-63 of a-z, 0-9, '-', '_', got %q", app)
	}
	if rel.Version != spec.Version {
		bad("version", "the release is %q but the spec asks for %q", rel.Version, spec.Version)
	}
	if !validSHA256(rel.SHA256) {
		bad("sha256", "must be 64 lowercase hex digits")
	}
	if previous != (Release{}) && (!ValidVersion(previous.Version) || !validSHA256(previous.SHA256)) {
		bad("previous", "must be a valid version with its sha256, or nothing")
	}
	if who == "" || len(who) > 128 {
		bad("who", "must say who asks, at most 128 bytes")
	}
	if err := spec.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(targets) == 0 || len(targets) > MaxTargets {
		bad("targets", "must have 1 to %d targets, got %d", MaxTargets, len(targets))
	}
	seen := make(map[string]bool, len(targets))
	for i, t := range targets {
		if !validHostID(t.Host) || seen[t.Host] {
			bad(fmt.Sprintf("targets[%d]", i), "host %q is invalid or listed twice", t.Host)
		}
		seen[t.Host] = true
	}
	warnings := Warnings(spec, len(targets))
	if spec.Strict && len(warnings) > 0 && len(errs) == 0 {
		for _, w := range warnings {
			field, msg, _ := strings.Cut(w, ": ")
			bad(field, "%s; strict refuses it: select more hosts or fewer steps, or leave strict out", msg)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("cannot create deploy: %w", errors.Join(errs...))
	}
	r := &Record{
		ID: id, App: app, Version: rel.Version, SHA256: rel.SHA256, Previous: previous,
		Who: who, Why: spec.Why, CreatedAt: now, State: StatePending,
		Spec: spec.WithDefaults(), Current: -1, Warnings: warnings,
	}
	for _, step := range Plan(spec, len(targets)) {
		r.Steps = append(r.Steps, StepState{Targets: step})
	}
	r.Targets = make([]TargetState, len(targets))
	for i, t := range targets {
		r.Targets[i] = TargetState{Host: t.Host, Room: t.Room, State: wire.PhasePending, Events: []TargetEvent{}}
	}
	r.note(now, WhatCreated, who, spec.Why)
	return r, nil
}

// RollbackSpec is the spec of an operator's rollback to version: every
// selected host at once (strategy all, max_unavailable 100%), no
// error-rate gate and no auto-rollback (a rollback is not rolled back).
// The caller may narrow Targets or MaxUnavailable before NewRollback.
func RollbackSpec(version, why string) Spec {
	off := false
	return Spec{
		Version: version, Why: why,
		Targets:        Targets{All: true},
		Strategy:       Strategy{Kind: KindAll},
		MaxUnavailable: Percent(100),
		AutoRollback:   &off,
	}
}

// NewRollback creates the record of `POST /apps/{app}/rollback`: a deploy
// of to (the previous good release, or one the operator named) marked
// Rollback, so that the caller can let it run while another deploy of
// the app runs (it should Abort that one first). from is the release
// being rolled back, kept as Previous for the record only: auto-rollback
// is always off. spec is typically RollbackSpec(to.Version, why).
func NewRollback(id, app string, to, from Release, who string, spec Spec, targets []Target, now time.Time) (*Record, error) {
	off := false
	spec.AutoRollback = &off
	r, err := NewRecord(id, app, to, from, who, spec, targets, now)
	if err != nil {
		return nil, err
	}
	r.Rollback = true
	return r, nil
}

// ParseRecord decodes a stored record and checks that it is coherent
// (step and target indexes in range), so that a damaged record is an
// error rather than a panic. Unknown fields are ignored: a record
// written by a newer binary still loads.
func ParseRecord(b []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("cannot parse deploy record: %w", err)
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("cannot parse deploy record %s: %w", r.ID, err)
	}
	return &r, nil
}

// Validate checks that r is coherent enough to drive; the error joins one
// *FieldError per problem.
func (r *Record) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	switch r.State {
	case StatePending, StateRunning, StatePaused, StateWaiting, StateSucceeded,
		StateFailed, StateRollingBack, StateRolledBack, StateAborted:
	default:
		bad("state", "unknown state %q", r.State)
	}
	if err := r.Spec.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(r.Targets) == 0 || len(r.Targets) > MaxTargets {
		bad("targets", "must have 1 to %d targets, got %d", MaxTargets, len(r.Targets))
	}
	if len(r.Steps) == 0 || len(r.Steps) > len(r.Targets) {
		bad("steps", "must have 1 to %d steps, got %d", len(r.Targets), len(r.Steps))
	}
	if r.Current < -1 || r.Current >= len(r.Steps) {
		bad("current", "must be between -1 and %d, got %d", len(r.Steps)-1, r.Current)
	}
	// Current is -1 while pending, and stays -1 in a deploy aborted before
	// its first Step (Abort of a pending deploy); in any other state a step
	// has started.
	if r.State == StatePending && r.Current != -1 || r.Current == -1 && r.State != StatePending && r.State != StateAborted {
		bad("current", "must be -1 exactly while pending (or aborted before the first step), got %d in state %s", r.Current, r.State)
	}
	in := make([]bool, len(r.Targets))
	for i, s := range r.Steps {
		for j, t := range s.Targets {
			if t < 0 || t >= len(r.Targets) || in[t] {
				bad(fmt.Sprintf("steps[%d].targets[%d]", i, j), "target %d is out of range or in two steps", t)
				continue
			}
			in[t] = true
		}
	}
	for i, t := range r.Targets {
		if t.State.Rank() < 0 && t.State != wire.PhaseRollingBack && t.State != wire.PhaseSkipped || t.Progress.Rank() < 0 || t.TaskID < 0 {
			bad(fmt.Sprintf("targets[%d]", i), "bad state %q, progress %q or task %d", t.State, t.Progress, t.TaskID)
		}
	}
	return errors.Join(errs...)
}

// Done reports whether the deploy reached a final state: succeeded,
// failed, rolled_back or aborted.
func (r *Record) Done() bool {
	switch r.State {
	case StateSucceeded, StateFailed, StateRolledBack, StateAborted:
		return true
	}
	return false
}

// target is the index of host in r.Targets, or -1.
func (r *Record) target(host string) int {
	if len(r.index) != len(r.Targets) {
		r.index = make(map[string]int, len(r.Targets))
		for i, t := range r.Targets {
			r.index[t.Host] = i
		}
	}
	if i, ok := r.index[host]; ok && i < len(r.Targets) && r.Targets[i].Host == host {
		return i
	}
	return -1
}

// note appends a timeline entry, dropping the oldest but the first past
// MaxTimeline.
func (r *Record) note(at time.Time, what, who, msg string) {
	if len(r.Timeline) >= MaxTimeline {
		r.Timeline = slices.Delete(r.Timeline, 1, len(r.Timeline)-MaxTimeline+2)
	}
	r.Timeline = append(r.Timeline, Entry{At: at, What: what, Who: who, Msg: wire.Clip(msg, wire.MaxMsg)})
}

// addEvent appends e to t's events, dropping the oldest past MaxEvents.
func (t *TargetState) addEvent(e TargetEvent) {
	if len(t.Events) >= MaxEvents {
		n := len(t.Events) - MaxEvents + 1
		t.Events = slices.Delete(t.Events, 0, n)
		t.Dropped += n
	}
	e.Msg = wire.Clip(e.Msg, wire.MaxMsg)
	e.LogTail = wire.LogTail(e.LogTail)
	t.Events = append(t.Events, e)
}

func validSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
