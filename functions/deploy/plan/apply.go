package plan

import (
	"cmp"
	"errors"
	"fmt"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/wire"
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
func (r *Record) Apply(ev wire.Event, now time.Time) (bool, error) {
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
	case t.Kind == wire.TaskRollback && phase == wire.PhaseHealthy:
		phase = wire.PhaseRolledBack
	case phase.Rank() < 0,
		t.Kind == wire.TaskDeploy && phase == wire.PhaseRolledBack:
		return false, fmt.Errorf("cannot apply event %q to the %s task of host %q: %w", ev.State, t.Kind, ev.Host, ErrBadEvent)
	}
	if phase.Rank() <= t.Progress.Rank() {
		return false, nil
	}
	t.Progress = phase
	switch {
	case t.Kind == wire.TaskDeploy:
		t.State = phase
	case phase.Terminal():
		t.State = phase
	default:
		t.State = wire.PhaseRollingBack
	}
	if phase.Terminal() {
		t.EndedAt = now
	}
	if phase == wire.PhaseFailed {
		t.Error = wire.Clip(cmp.Or(ev.Msg, string(t.Kind)+" task failed"), wire.MaxMsg)
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
	t.Progress, t.State, t.EndedAt, t.Error = wire.PhaseFailed, wire.PhaseFailed, now, msg
	t.addEvent(TargetEvent{At: now, TaskID: t.TaskID, State: wire.PhaseFailed, Msg: msg})
}

// inFlight reports whether t has a task sent and not ended.
func (t *TargetState) inFlight() bool { return t.TaskID > 0 && !t.Progress.Terminal() }
