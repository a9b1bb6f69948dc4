// Package plan is the pure logic of a deploy: the request (Spec), the
// choice of target hosts, the steps of a strategy, and the deploy's
// state machine (Record) that the functions advance as agents report.
// It does no I/O, starts no goroutine and reads no clock: the caller
// passes the time in, so everything is deterministic under test.
//
// # Pieces
//
//   - Spec (spec.go, values.go) is the body of POST
//     /api/v1/apps/{app}/deploys, parsed strictly by ParseSpec: version,
//     targets (rooms, labels, hosts, or all), strategy (all, rolling with
//     a batch, canary with cumulative percentages and a pause),
//     max_unavailable, an error-rate health gate, auto_rollback and
//     timeouts.
//   - SelectTargets (targets.go) picks the live hosts the spec selects,
//     by room then id; Plan (plan.go) splits them into steps.
//   - Record (record.go) is the whole deploy as stored JSON: who, why,
//     version, the steps, every target's task and events, the timeline.
//   - Apply (apply.go) records an agent's event, idempotently and in any
//     order; Step (step.go) advances the deploy and returns the tasks to
//     send; Pause, Resume and Abort (control.go) are an operator's;
//     Summary, GateWindow and Wake (summary.go) are read-outs.
//
// # How the functions use it
//
// Orchestration is stateless: the Record lives in the store and any
// functions instance advances it. On a deploy request:
//
//	spec, err := plan.ParseSpec(body)            // 400 with the FieldErrors
//	targets, err := plan.SelectTargets(spec, hosts)
//	rec, err := plan.NewRecord(id, app, rel, prev, who, spec, targets, now)
//	tasks := rec.Step(now, obs)                  // starts the first step
//	store rec (create), then publish tasks to deploy.host.<host>
//
// On every agent event (NSQ deploy.events), on an operator's pause,
// resume or abort, and every few seconds while the deploy is not Done:
//
//	load rec (plan.ParseRecord) under the deploy's lease or CAS version
//	changed, err := rec.Apply(ev, now)            // or rec.Pause / Resume / Abort
//	obs := plan.Observations{Hosts: agent heartbeats, Gate: measurement of rec.GateWindow()}
//	tasks := rec.Step(now, obs)
//	store rec (CAS), then publish tasks
//
// Storing before publishing means a task is never sent without the
// record knowing; a task lost after the store is sent again by Step
// after ResendAfter with the same task id, which agents handle once.
//
// # Tasks and events
//
// Each target has a current task, numbered by generation (task id 1 is
// the deploy, 2 its rollback). Agents report phases of a task; an event
// of an older task is ignored, and within a task the phase only moves
// forward (pending < downloading < starting < healthy | rolled_back |
// failed), so duplicates and late events change nothing. A task that
// does not end within timeouts.task, or whose agent misses heartbeats
// for AgentLostAfter (15 s), fails. A failed target, a failed health
// gate or a step past its deadline stops the rollout; with auto_rollback
// and a previous version, every target that was sent the new version
// gets a rollback task (all at once), and the deploy ends rolled_back,
// or failed if a rollback failed too. A deploy that ends without
// succeeding marks the targets it never sent a task to skipped.
//
// A strategy the targets cannot honour (canary steps that collapse on
// fewer hosts, a rolling batch of every host) is said so by Warnings,
// kept in Record.Warnings; with Spec.Strict NewRecord refuses it.
package plan
