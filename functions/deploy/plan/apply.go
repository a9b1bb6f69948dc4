package plan

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors of Apply, wrapped; the caller logs them and drops the event
// (redelivering it will not help).
var (
	// ErrOtherDeploy: the event names another deploy.
	ErrOtherDeploy = errors.New("event of another deploy")
	// ErrUnknownTarget: the event's host is not a target of the deploy.
	ErrUnknownTarget = errors.New("event of a host that is not a target")
	// ErrUnknownTask: the event's task was never sent to that host.
	ErrUnknownTask = errors.New("event of a task that was never sent")
	// ErrBadEvent: the event's state makes no sense for its task.
	ErrBadEvent = errors.New("invalid event")
)

// Event is what an agent reports about a task, on NSQ deploy.events.
type Event struct {
	DeployID string `json:"deploy_id"`
	TaskID   int    `json:"task_id"`
	Host     string `json:"host"`
	// State is downloading, starting, healthy or failed (rolled_back for
	// a rollback task).
	State Phase `json:"state"`
	// At is the agent's clock; the record keeps it for the history but
	// times out tasks on the caller's clock.
	At  time.Time `json:"at,omitzero"`
	Msg string    `json:"msg,omitempty"`
	// Duration is how long the phase took, as the agent measured it.
	Duration Duration `json:"duration,omitempty"`
	// LogTail is the end of the agent's log for the phase; longer than
	// MaxLogLines lines or MaxLogBytes bytes, only its end is kept.
	LogTail string `json:"log_tail,omitempty"`
}

// ParseEvent decodes an agent's event. Unknown fields are ignored (unlike
// ParseSpec) so that a newer agent can add some; trailing data is
// rejected. It checks the event's shape only; Apply decides whether it
// fits the deploy.
func ParseEvent(b []byte) (Event, error) {
	var e Event
	if err := decode(b, &e, false); err != nil {
		return Event{}, fmt.Errorf("cannot parse deploy event: %w", err)
	}
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if e.DeployID == "" || len(e.DeployID) > 128 {
		bad("deploy_id", "must be 1-128 bytes")
	}
	if e.TaskID < 1 {
		bad("task_id", "must be positive, got %d", e.TaskID)
	}
	if !validHostID(e.Host) {
		bad("host", "host ids are 1-128 of A-Z, a-z, 0-9, '.', '_', '-', ':', got %q", e.Host)
	}
	if e.State.rank() < 0 {
		bad("state", "must be pending, downloading, starting, healthy, rolled_back or failed, got %q", e.State)
	}
	if e.Duration < 0 {
		bad("duration", "must not be negative")
	}
	if err := errors.Join(errs...); err != nil {
		return Event{}, fmt.Errorf("cannot parse deploy event: %w", err)
	}
	return e, nil
}

// Apply records an agent's event at now and reports whether it changed
// the record. It is idempotent and tolerates any order of delivery:
//
//   - an event of an older task of the host (superseded, e.g. by a
//     rollback) is ignored;
//   - within a task, the phase only moves forward (pending < downloading
//     < starting < healthy | rolled_back | failed), so a repeated or late
//     event changes nothing, and a terminal phase is final — including
//     one the record decided itself (timed out, agent lost);
//   - a rollback task's healthy counts as rolled_back.
//
// Ignored events return (false, nil). Events that cannot belong to the
// deploy return (false, err) wrapping ErrOtherDeploy, ErrUnknownTarget,
// ErrUnknownTask or ErrBadEvent. Apply only records what the agent said;
// the caller runs Step afterwards to act on it.
func (r *Record) Apply(ev Event, now time.Time) (bool, error) {
	if ev.DeployID != r.ID {
		return false, fmt.Errorf("cannot apply event of deploy %q to %q: %w", ev.DeployID, r.ID, ErrOtherDeploy)
	}
	i := r.target(ev.Host)
	if i < 0 {
		return false, fmt.Errorf("cannot apply event of host %q to deploy %s: %w", ev.Host, r.ID, ErrUnknownTarget)
	}
	t := &r.Targets[i]
	switch {
	case ev.TaskID < 1 || ev.TaskID > t.TaskID:
		return false, fmt.Errorf("cannot apply event of task %d of host %q (current task %d): %w", ev.TaskID, ev.Host, t.TaskID, ErrUnknownTask)
	case ev.TaskID < t.TaskID:
		return false, nil
	}
	phase := ev.State
	switch {
	case t.Kind == TaskRollback && phase == PhaseHealthy:
		phase = PhaseRolledBack
	case phase.rank() < 0,
		t.Kind == TaskDeploy && phase == PhaseRolledBack:
		return false, fmt.Errorf("cannot apply event %q to the %s task of host %q: %w", ev.State, t.Kind, ev.Host, ErrBadEvent)
	}
	if phase.rank() <= t.Progress.rank() {
		return false, nil
	}
	t.Progress = phase
	switch {
	case t.Kind == TaskDeploy:
		t.State = phase
	case phase.terminal():
		t.State = phase
	default:
		t.State = PhaseRollingBack
	}
	if phase.terminal() {
		t.EndedAt = now
	}
	if phase == PhaseFailed {
		t.Error = Clip(cmp.Or(ev.Msg, string(t.Kind)+" task failed"), MaxMsg)
	}
	at := ev.At
	if at.IsZero() {
		at = now
	}
	t.addEvent(TargetEvent{At: at, TaskID: ev.TaskID, State: phase, Msg: ev.Msg, Duration: ev.Duration, LogTail: ev.LogTail})
	return true, nil
}

// fail ends t's current task as failed at now, with the record's own
// reason (timed out, agent lost).
func (t *TargetState) fail(now time.Time, msg string) {
	t.Progress, t.State, t.EndedAt, t.Error = PhaseFailed, PhaseFailed, now, msg
	t.addEvent(TargetEvent{At: now, TaskID: t.TaskID, State: PhaseFailed, Msg: msg})
}

// inFlight reports whether t has a task sent and not ended.
func (t *TargetState) inFlight() bool { return t.TaskID > 0 && !t.Progress.terminal() }

// Clip cuts s to at most n bytes, at a rune boundary (event messages are
// cut at MaxMsg).
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// LogTail keeps the end of a log: at most MaxLogLines lines and
// MaxLogBytes bytes, cut at a rune boundary.
func LogTail(s string) string {
	s = strings.TrimRight(s, "\n")
	if len(s) > MaxLogBytes {
		cut := len(s) - MaxLogBytes
		for cut < len(s) && !utf8.RuneStart(s[cut]) {
			cut++
		}
		s = s[cut:]
	}
	for i, n := len(s)-1, 0; i >= 0; i-- {
		if s[i] == '\n' {
			if n++; n == MaxLogLines {
				return s[i+1:]
			}
		}
	}
	return s
}
