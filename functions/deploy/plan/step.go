package plan

import (
	"fmt"
	"strings"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/wire"
)

// Timings of Step that a Spec does not set.
const (
	// AgentLostAfter: a target whose task is in flight fails ("agent
	// lost") once its host's last heartbeat is this old.
	AgentLostAfter = 15 * time.Second
	// ResendAfter: a task the agent has not answered (no event yet) is
	// sent again, with the same task id, this long after the last send.
	// Agents handle a task id once, so a resend is harmless; it covers a
	// task lost between storing the record and publishing it.
	ResendAfter = 30 * time.Second
	// GateGrace is how long after its window a step waits for the
	// error-rate measurement before it fails for the lack of one.
	GateGrace = time.Minute
)

// Observations is what the caller knows of the world when it calls Step.
type Observations struct {
	// Hosts is the agents' liveness by host id. A host missing here is
	// not judged.
	Hosts map[string]HostStatus
	// Gate is the gateway's measurement for the window GateWindow
	// returns; nil when the caller has none (yet).
	Gate *GateSample
}

// HostStatus is an agent's liveness.
type HostStatus struct {
	// LastHeartbeat is the agent's last heartbeat (zero: unknown).
	LastHeartbeat time.Time
	// Down says the agent is gone (deregistered, its TTL expired).
	Down bool
}

// GateSample is the gateway's measurement of the new version's traffic
// over a step's error-rate window.
type GateSample struct {
	// Step is the index of the step measured (GateWindow's Window.Step);
	// a sample of another step is not used.
	Step int
	// Requests is the number of requests to the new version in the
	// window; ErrorRate the fraction of them that failed, in [0, 1].
	Requests  int
	ErrorRate float64
}

// lost reports whether host's agent is gone at now.
func (o Observations) lost(host string, now time.Time) bool {
	h, ok := o.Hosts[host]
	return ok && (h.Down || !h.LastHeartbeat.IsZero() && now.Sub(h.LastHeartbeat) >= AgentLostAfter)
}

// Action is something Step asks the caller to do: a SendTask.
type Action interface{ action() }

// SendTask asks the caller to publish a task to the host's agent (NSQ
// wire.HostTopic(Host)). The record already notes it as sent.
type SendTask struct{ wire.Task }

func (SendTask) action() {}

// Step advances the deploy at now and returns the tasks to send. Call it
// after every Apply that changed the record, after Pause, Resume and
// Abort, and every few seconds while the deploy is not Done (agent loss
// is only seen that way); then store the record and publish the tasks.
// Calling it again at the same now with the same observations does
// nothing more. In order, it:
//
//  1. starts a pending deploy (running, first step);
//  2. fails every in-flight task whose host is lost or that has run
//     longer than timeouts.task;
//  3. stops the rollout when a target failed: with auto_rollback and a
//     previous version, state rolling_back; else failed;
//  4. while running: after a timed pause, starts the next step; fails a
//     step whose targets are not all healthy by its deadline; sends
//     deploy tasks to the step's targets, at most max_unavailable in
//     flight (a lost host fails at once); once all are healthy, runs the
//     health gate, then moves on: next step, a timed pause (NextAt),
//     waiting (manual pause) or succeeded after the last;
//  5. while rolling back: sends a rollback task (a new task id) to every
//     target that was sent the new version, all at once (the targets not
//     yet moved keep serving the previous version); once all ended,
//     rolled_back, or failed if some rollback failed;
//  6. resends the tasks that got no answer within ResendAfter.
func (r *Record) Step(now time.Time, obs Observations) []Action {
	if r.Done() || len(r.Steps) == 0 {
		return nil
	}
	var acts []Action
	if r.State == StatePending {
		r.State, r.StartedAt = StateRunning, now
		r.note(now, WhatStarted, "", fmt.Sprintf("%d targets in %d steps", len(r.Targets), len(r.Steps)))
		r.startStep(0, now)
	}
	r.expire(now, obs)
	switch r.State {
	case StateRunning, StatePaused, StateWaiting:
		if msg := r.failure(); msg != "" {
			r.stop(now, msg)
		}
	}
	if r.State == StateRunning {
		acts = r.drive(now, obs, acts)
	}
	if r.State == StateRollingBack {
		acts = r.retreat(now, acts)
	}
	if !r.Done() {
		acts = r.resend(now, acts)
	}
	return acts
}

// expire fails the in-flight tasks whose agent is lost or whose time is up.
func (r *Record) expire(now time.Time, obs Observations) {
	timeout := r.Spec.taskTimeout()
	for i := range r.Targets {
		t := &r.Targets[i]
		switch {
		case !t.inFlight():
		case obs.lost(t.Host, now):
			t.fail(now, "agent lost")
		case !now.Before(t.IssuedAt.Add(timeout)):
			t.fail(now, fmt.Sprintf("%s task timed out after %s", t.Kind, timeout))
		}
	}
}

// failure describes the targets whose deploy failed, or "".
func (r *Record) failure() string {
	var hosts []string
	first := ""
	for _, t := range r.Targets {
		if t.State == wire.PhaseFailed && t.Kind != wire.TaskRollback {
			if first == "" {
				first = fmt.Sprintf("host %s: %s", t.Host, t.Error)
			}
			hosts = append(hosts, t.Host)
		}
	}
	if len(hosts) > 1 {
		return fmt.Sprintf("%s (and %d more: %s)", first, len(hosts)-1, strings.Join(hosts[1:], ", "))
	}
	return first
}

// drive runs a running deploy forward as far as now allows.
func (r *Record) drive(now time.Time, obs Observations, acts []Action) []Action {
	for r.State == StateRunning {
		st := &r.Steps[r.Current]
		if !st.EndedAt.IsZero() {
			if r.Current == len(r.Steps)-1 {
				r.finish(now, StateSucceeded)
				return acts
			}
			if now.Before(r.NextAt) {
				return acts
			}
			r.NextAt = time.Time{}
			r.startStep(r.Current+1, now)
			continue
		}
		if st.HealthyAt.IsZero() && !now.Before(st.Deadline) {
			r.stop(now, fmt.Sprintf("step %d timed out after %s", r.Current+1, r.Spec.stepTimeout()))
			return acts
		}
		acts = r.issue(now, obs, st, acts)
		if r.State != StateRunning || !r.allHealthy(st) {
			return acts
		}
		if st.HealthyAt.IsZero() {
			st.HealthyAt = now
		}
		gate, wait := r.gate(now, obs, st)
		if wait {
			return acts
		}
		st.Gate = &gate
		if !gate.Passed {
			r.stop(now, fmt.Sprintf("step %d: health gate: %s", r.Current+1, gate.Msg))
			return acts
		}
		st.EndedAt = now
		r.note(now, WhatStepDone, "", fmt.Sprintf("step %d of %d: %s", r.Current+1, len(r.Steps), gate.Msg))
		switch p := r.Spec.Strategy.Pause; {
		case r.Current == len(r.Steps)-1:
			r.finish(now, StateSucceeded)
			r.note(now, WhatSucceeded, "", fmt.Sprintf("%d targets on %s", len(r.Targets), r.Version))
			return acts
		case p.Manual:
			r.State = StateWaiting
			r.note(now, WhatWaiting, "", fmt.Sprintf("resume to start step %d of %d", r.Current+2, len(r.Steps)))
			return acts
		case p.D > 0:
			r.NextAt = now.Add(p.D)
		default:
			r.NextAt = now
		}
	}
	return acts
}

// startStep makes step i current at now.
func (r *Record) startStep(i int, now time.Time) {
	r.Current = i
	st := &r.Steps[i]
	st.StartedAt, st.Deadline = now, now.Add(r.Spec.stepTimeout())
	r.note(now, WhatStep, "", fmt.Sprintf("step %d of %d: %d targets", i+1, len(r.Steps), len(st.Targets)))
}

// issue sends deploy tasks to st's targets that have none, keeping at
// most max_unavailable tasks in flight. A target whose host is lost fails
// without a task and stops the rollout.
func (r *Record) issue(now time.Time, obs Observations, st *StepState, acts []Action) []Action {
	limit := r.Spec.MaxUnavailable.Of(len(r.Targets))
	busy := 0
	for i := range r.Targets {
		if r.Targets[i].inFlight() {
			busy++
		}
	}
	for _, i := range st.Targets {
		t := &r.Targets[i]
		if busy >= limit {
			break
		}
		if t.TaskID != 0 || t.Progress.Terminal() {
			continue
		}
		if obs.lost(t.Host, now) {
			t.fail(now, "agent lost")
			r.stop(now, r.failure())
			return acts
		}
		t.StartedAt = now
		acts = r.send(now, t, wire.TaskDeploy, acts)
		busy++
	}
	return acts
}

// send starts a new task of kind for t at now.
func (r *Record) send(now time.Time, t *TargetState, kind wire.TaskKind, acts []Action) []Action {
	t.TaskID++
	t.Kind, t.Progress = kind, wire.PhasePending
	t.IssuedAt, t.SentAt, t.Sends, t.EndedAt = now, now, 1, time.Time{}
	if kind == wire.TaskDeploy {
		t.State, t.Moved = wire.PhasePending, true
	} else {
		t.State = wire.PhaseRollingBack
	}
	task := r.task(t, false)
	t.addEvent(TargetEvent{At: now, TaskID: t.TaskID, State: wire.PhasePending, Msg: fmt.Sprintf("%s task sent: %s", kind, task.Version)})
	return append(acts, task)
}

// task is the SendTask of t's current task.
func (r *Record) task(t *TargetState, resend bool) SendTask {
	rel := Release{Version: r.Version, SHA256: r.SHA256}
	if t.Kind == wire.TaskRollback {
		rel = r.Previous
	}
	return SendTask{wire.Task{
		DeployID: r.ID, App: r.App, Host: t.Host, TaskID: t.TaskID, Kind: t.Kind,
		Version: rel.Version, SHA256: rel.SHA256, Resend: resend,
	}}
}

func (r *Record) allHealthy(st *StepState) bool {
	for _, i := range st.Targets {
		if r.Targets[i].State != wire.PhaseHealthy {
			return false
		}
	}
	return true
}

// gate judges st once all its targets are healthy; wait means not yet.
func (r *Record) gate(now time.Time, obs Observations, st *StepState) (g GateResult, wait bool) {
	h := r.Spec.Health
	if h.ErrorRateMax == 0 {
		return GateResult{At: now, Passed: true, Msg: "all targets healthy"}, false
	}
	end := st.HealthyAt.Add(r.Spec.gateWindow())
	if now.Before(end) {
		return GateResult{}, true
	}
	s := obs.Gate
	if s == nil || s.Step != r.Current || s.Requests < 0 || !(s.ErrorRate >= 0 && s.ErrorRate <= 1) {
		if now.Before(end.Add(GateGrace)) {
			return GateResult{}, true
		}
		return GateResult{At: now, Msg: fmt.Sprintf("no error-rate measurement within %s after the window", GateGrace)}, false
	}
	g = GateResult{At: now, ErrorRate: s.ErrorRate, Requests: s.Requests, Passed: true}
	minReq := r.Spec.minRequests()
	switch {
	case s.Requests < minReq:
		g.Msg = fmt.Sprintf("too few requests to judge the error rate (%d < %d)", s.Requests, minReq)
	case s.ErrorRate > h.ErrorRateMax:
		g.Passed = false
		g.Msg = fmt.Sprintf("error rate %.2f%% over %d requests is above %.2f%%", 100*s.ErrorRate, s.Requests, 100*h.ErrorRateMax)
	default:
		g.Msg = fmt.Sprintf("error rate %.2f%% over %d requests", 100*s.ErrorRate, s.Requests)
	}
	return g, false
}

// stop ends the rollout after a failure described by msg.
func (r *Record) stop(now time.Time, msg string) {
	if st := &r.Steps[r.Current]; st.EndedAt.IsZero() {
		st.EndedAt, st.Error = now, msg
	}
	r.note(now, WhatStepFailed, "", msg)
	r.Error = msg
	r.retreatOrEnd(now, StateFailed, WhatFailed)
}

// retreatOrEnd starts rolling back if the deploy can, or else ends it in
// state final.
func (r *Record) retreatOrEnd(now time.Time, final State, what string) {
	r.NextAt, r.PausedAt = time.Time{}, time.Time{}
	moved := 0
	for _, t := range r.Targets {
		if t.Moved {
			moved++
		}
	}
	switch {
	case moved > 0 && r.Spec.autoRollback() && r.Previous.Version != "":
		r.State = StateRollingBack
		r.note(now, WhatRollingBack, "", fmt.Sprintf("%d targets back to %s", moved, r.Previous.Version))
		return
	case moved > 0 && r.Spec.autoRollback():
		r.note(now, what, "", "no previous version to roll back to")
	case moved > 0:
		r.note(now, what, "", "auto_rollback is off")
	default:
		r.note(now, what, "", "no target was moved")
	}
	r.finish(now, final)
}

// finish puts the deploy in a final state at now. Unless it succeeded,
// the targets it never sent a task to are skipped.
func (r *Record) finish(now time.Time, s State) {
	r.State, r.EndedAt, r.NextAt, r.PausedAt = s, now, time.Time{}, time.Time{}
	if s == StateSucceeded {
		return
	}
	for i := range r.Targets {
		if t := &r.Targets[i]; t.TaskID == 0 && t.State == wire.PhasePending {
			t.State, t.EndedAt = wire.PhaseSkipped, now
			t.addEvent(TargetEvent{At: now, State: wire.PhaseSkipped, Msg: fmt.Sprintf("skipped: the deploy ended %s before it reached this host", s)})
		}
	}
}

// retreat sends rollback tasks to the moved targets and ends the deploy
// when they all ended.
func (r *Record) retreat(now time.Time, acts []Action) []Action {
	for i := range r.Targets {
		if t := &r.Targets[i]; t.Moved && t.Kind != wire.TaskRollback {
			acts = r.send(now, t, wire.TaskRollback, acts)
		}
	}
	var failed []string
	moved := 0
	for _, t := range r.Targets {
		switch {
		case !t.Moved:
		case t.inFlight():
			return acts
		case t.State == wire.PhaseFailed:
			failed = append(failed, t.Host)
			moved++
		default:
			moved++
		}
	}
	if len(failed) > 0 {
		msg := fmt.Sprintf("rollback to %s failed on %s", r.Previous.Version, strings.Join(failed, ", "))
		r.Error = r.Error + "; " + msg
		r.finish(now, StateFailed)
		r.note(now, WhatFailed, "", msg)
		return acts
	}
	r.finish(now, StateRolledBack)
	r.note(now, WhatRolledBack, "", fmt.Sprintf("%d targets back on %s", moved, r.Previous.Version))
	return acts
}

// resend sends again the tasks no agent answered within ResendAfter.
func (r *Record) resend(now time.Time, acts []Action) []Action {
	for i := range r.Targets {
		t := &r.Targets[i]
		if t.inFlight() && t.Progress.Rank() == 0 && !now.Before(t.SentAt.Add(ResendAfter)) {
			t.SentAt = now
			t.Sends++
			acts = append(acts, r.task(t, true))
		}
	}
	return acts
}
