package plan

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/wire"
)

func canarySpec() Spec {
	s := baseSpec()
	s.Strategy = Strategy{Kind: KindCanary, Steps: []int{10, 50, 100}, Pause: Pause{D: 2 * time.Minute}}
	s.MaxUnavailable = Percent(50)
	s.Health = Health{ErrorRateMax: 0.05}
	return s
}

// deliver applies the whole life of each task twice over, shuffled,
// calling Step after every event as the functions do, and returns the
// tasks those Steps sent.
func deliver(t *testing.T, r *Record, rng *rand.Rand, now time.Time, ts []SendTask, end wire.Phase) []SendTask {
	t.Helper()
	var evs []wire.Event
	for _, s := range ts {
		for _, p := range []wire.Phase{wire.PhaseDownloading, wire.PhaseStarting, end} {
			e := ev(r, s.Host, s.TaskID, p)
			evs = append(evs, e, e)
		}
	}
	rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	var sent []SendTask
	for _, e := range evs {
		apply(t, r, now, e)
		sent = append(sent, tasks(t, r.Step(now, Observations{}))...)
	}
	return sent
}

func TestCanaryHappy(t *testing.T) {
	t.Parallel()
	r := mustRecord(t, canarySpec(), 10)
	rng := rand.New(rand.NewPCG(1, 2))
	if len(r.Steps) != 3 || len(r.Steps[0].Targets) != 1 || len(r.Steps[1].Targets) != 4 || len(r.Steps[2].Targets) != 5 {
		t.Fatalf("steps %+v", r.Steps)
	}
	ts := expectTasks(t, r.Step(sec(0), Observations{}), "h00/1/deploy")
	expectState(t, r, StateRunning)
	if ts[0] != (SendTask{wire.Task{DeployID: "d-1", App: "shop", Host: "h00", TaskID: 1, Kind: wire.TaskDeploy, Version: "1.4.2", SHA256: relNew.SHA256}}) {
		t.Fatalf("task %+v", ts[0])
	}
	expectTasks(t, r.Step(sec(0), Observations{})) // nothing twice

	// Step 1 of 3: healthy at 10 s; the gate watches 10-40 s.
	if sent := deliver(t, r, rng, sec(10), ts, wire.PhaseHealthy); len(sent) != 0 {
		t.Fatalf("sent %v while the gate waits", sent)
	}
	if w, ok := r.GateWindow(); !ok || w != (Window{Step: 0, From: sec(10), To: sec(40)}) {
		t.Fatalf("gate window %+v %v", w, ok)
	}
	if w := r.Wake(sec(10)); !w.Equal(sec(40)) {
		t.Fatalf("wake %v", w.Sub(t0))
	}
	good := func(step int) Observations {
		return Observations{Gate: &GateSample{Step: step, Requests: 200, ErrorRate: 0.01}}
	}
	expectTasks(t, r.Step(sec(39), good(0)))
	expectTasks(t, r.Step(sec(40), good(0)))
	if g := r.Steps[0].Gate; g == nil || !g.Passed || g.Requests != 200 || !r.NextAt.Equal(sec(160)) {
		t.Fatalf("gate %+v next %v", g, r.NextAt)
	}
	// The 2 m pause.
	expectTasks(t, r.Step(sec(159), Observations{}))
	if w := r.Wake(sec(100)); !w.Equal(sec(160)) {
		t.Fatalf("wake %v", w.Sub(t0))
	}

	// Step 2 of 3: four targets, all at once (max_unavailable 50% of 10).
	ts = expectTasks(t, r.Step(sec(160), Observations{}), "h01/1/deploy", "h02/1/deploy", "h03/1/deploy", "h04/1/deploy")
	if sent := deliver(t, r, rng, sec(170), ts, wire.PhaseHealthy); len(sent) != 0 {
		t.Fatalf("sent %v while the gate waits", sent)
	}
	expectTasks(t, r.Step(sec(200), good(0))) // a sample of another step does not count
	expectTasks(t, r.Step(sec(200), good(1)))
	expectTasks(t, r.Step(sec(319), good(1)))

	// Step 3 of 3.
	ts = expectTasks(t, r.Step(sec(320), Observations{}), "h05/1/deploy", "h06/1/deploy", "h07/1/deploy", "h08/1/deploy", "h09/1/deploy")
	deliver(t, r, rng, sec(330), ts, wire.PhaseHealthy)
	expectTasks(t, r.Step(sec(360), Observations{Gate: &GateSample{Step: 2, Requests: 5, ErrorRate: 1}})) // too few to judge
	expectState(t, r, StateSucceeded)
	if !r.Done() || !r.EndedAt.Equal(sec(360)) || r.Step(sec(400), Observations{}) != nil {
		t.Fatalf("done %v ended %v", r.Done(), r.EndedAt)
	}
	for _, tg := range r.Targets {
		if tg.State != wire.PhaseHealthy || tg.TaskID != 1 || tg.Sends != 1 {
			t.Fatalf("target %+v", tg)
		}
		// sent, then the events that moved it forward, each once.
		if n := len(tg.Events); n < 2 || n > 4 || tg.Events[n-1].State != wire.PhaseHealthy {
			t.Fatalf("target %s events %+v", tg.Host, tg.Events)
		}
	}
	var whats []string
	for _, e := range r.Timeline {
		whats = append(whats, e.What)
	}
	if got := strings.Join(whats, " "); got != "created started step step_done step step_done step step_done succeeded" {
		t.Fatalf("timeline %s", got)
	}
	s := r.Summary()
	if s.Counts[wire.PhaseHealthy] != 10 || s.Step != 3 || s.Steps != 3 || s.Duration != 360*time.Second || s.TargetMax != 10*time.Second {
		t.Fatalf("summary %+v", s)
	}
}

func TestMaxUnavailableOne(t *testing.T) {
	t.Parallel()
	r := mustRecord(t, baseSpec(), 3) // kind all, max_unavailable 1
	ts := expectTasks(t, r.Step(sec(0), Observations{}), "h00/1/deploy")
	expectTasks(t, r.Step(sec(1), Observations{}))
	apply(t, r, sec(2), ev(r, "h00", 1, wire.PhaseDownloading))
	expectTasks(t, r.Step(sec(2), Observations{}))
	finish(t, r, sec(3), ts, wire.PhaseHealthy)
	ts = expectTasks(t, r.Step(sec(3), Observations{}), "h01/1/deploy")
	finish(t, r, sec(4), ts, wire.PhaseHealthy)
	ts = expectTasks(t, r.Step(sec(4), Observations{}), "h02/1/deploy")
	finish(t, r, sec(5), ts, wire.PhaseHealthy)
	expectTasks(t, r.Step(sec(5), Observations{}))
	expectState(t, r, StateSucceeded)
}

func rollingSpec() Spec {
	s := baseSpec()
	s.Strategy = Strategy{Kind: KindRolling, Batch: Count(2)}
	s.MaxUnavailable = Count(2)
	return s
}

func TestFailureRollsBack(t *testing.T) {
	t.Parallel()
	r := mustRecord(t, rollingSpec(), 6)
	ts := expectTasks(t, r.Step(sec(0), Observations{}), "h00/1/deploy", "h01/1/deploy")
	finish(t, r, sec(10), ts, wire.PhaseHealthy)
	expectTasks(t, r.Step(sec(10), Observations{}), "h02/1/deploy", "h03/1/deploy")
	apply(t, r, sec(20), ev(r, "h03", 1, wire.PhaseDownloading), wire.Event{DeployID: r.ID, TaskID: 1, Host: "h02", State: wire.PhaseFailed, Msg: "exit status 1"})
	ts = expectTasks(t, r.Step(sec(20), Observations{}), "h00/2/rollback", "h01/2/rollback", "h02/2/rollback", "h03/2/rollback")
	expectState(t, r, StateRollingBack)
	if ts[0].Version != relPrev.Version || ts[0].SHA256 != relPrev.SHA256 {
		t.Fatalf("rollback task %+v", ts[0])
	}
	if r.Error != "host h02: exit status 1" || r.Steps[1].Error != r.Error || !r.Steps[1].EndedAt.Equal(sec(20)) {
		t.Fatalf("error %q, step %+v", r.Error, r.Steps[1])
	}
	// Late events of the superseded deploy task change nothing.
	if changed, err := r.Apply(ev(r, "h03", 1, wire.PhaseHealthy), sec(21)); changed || err != nil {
		t.Fatalf("late deploy event: %v %v", changed, err)
	}
	expectTasks(t, r.Step(sec(21), Observations{}))
	finish(t, r, sec(30), ts[:3], wire.PhaseRolledBack)
	expectTasks(t, r.Step(sec(30), Observations{}))
	expectState(t, r, StateRollingBack)
	finish(t, r, sec(31), ts[3:], wire.PhaseRolledBack)
	expectTasks(t, r.Step(sec(31), Observations{}))
	expectState(t, r, StateRolledBack)
	s := r.Summary()
	if s.Counts[wire.PhaseRolledBack] != 4 || s.Counts[wire.PhaseSkipped] != 2 || r.Targets[4].TaskID != 0 {
		t.Fatalf("summary %+v", s)
	}
}

func TestRollbackFails(t *testing.T) {
	t.Parallel()
	r := mustRecord(t, rollingSpec(), 2)
	ts := expectTasks(t, r.Step(sec(0), Observations{}), "h00/1/deploy", "h01/1/deploy")
	finish(t, r, sec(1), ts[:1], wire.PhaseHealthy)
	finish(t, r, sec(1), ts[1:], wire.PhaseFailed)
	ts = expectTasks(t, r.Step(sec(1), Observations{}), "h00/2/rollback", "h01/2/rollback")
	finish(t, r, sec(2), ts[:1], wire.PhaseHealthy) // read as rolled_back
	finish(t, r, sec(2), ts[1:], wire.PhaseFailed)
	r.Step(sec(2), Observations{})
	expectState(t, r, StateFailed)
	if !strings.Contains(r.Error, "rollback to 1.4.1 failed on h01") || r.Targets[0].State != wire.PhaseRolledBack {
		t.Fatalf("error %q, targets %+v", r.Error, r.Targets)
	}
}

func TestNoRollback(t *testing.T) {
	t.Parallel()
	off := false
	spec := rollingSpec()
	spec.AutoRollback = &off
	r := mustRecord(t, spec, 2)
	ts := expectTasks(t, r.Step(sec(0), Observations{}), "h00/1/deploy", "h01/1/deploy")
	finish(t, r, sec(1), ts[1:], wire.PhaseFailed)
	expectTasks(t, r.Step(sec(1), Observations{}))
	expectState(t, r, StateFailed)

	// Auto-rollback on, but no previous version: failed too.
	r, err := NewRecord("d-1", "shop", relNew, Release{}, "alice", rollingSpec(), targets(2), t0)
	if err != nil {
		t.Fatal(err)
	}
	ts = expectTasks(t, r.Step(sec(0), Observations{}), "h00/1/deploy", "h01/1/deploy")
	finish(t, r, sec(1), ts[1:], wire.PhaseFailed)
	expectTasks(t, r.Step(sec(1), Observations{}))
	expectState(t, r, StateFailed)
	if last := r.Timeline[len(r.Timeline)-1]; last.What != WhatFailed || last.Msg != "no previous version to roll back to" {
		t.Fatalf("timeline %+v", last)
	}
}

func TestGateBreach(t *testing.T) {
	t.Parallel()
	spec := canarySpec()
	spec.Strategy = Strategy{Kind: KindCanary, Steps: []int{50, 100}}
	r := mustRecord(t, spec, 2)
	ts := expectTasks(t, r.Step(sec(0), Observations{}), "h00/1/deploy")
	finish(t, r, sec(5), ts, wire.PhaseHealthy)
	expectTasks(t, r.Step(sec(5), Observations{}))
	bad := Observations{Gate: &GateSample{Step: 0, Requests: 100, ErrorRate: 0.2}}
	expectTasks(t, r.Step(sec(34), bad)) // window not over
	expectTasks(t, r.Step(sec(35), bad), "h00/2/rollback")
	expectState(t, r, StateRollingBack)
	if g := r.Steps[0].Gate; g == nil || g.Passed || g.ErrorRate != 0.2 ||
		r.Error != "step 1: health gate: error rate 20.00% over 100 requests is above 5.00%" {
		t.Fatalf("gate %+v error %q", g, r.Error)
	}

	// No measurement at all: the step fails GateGrace after its window.
	r = mustRecord(t, spec, 2)
	ts = expectTasks(t, r.Step(sec(0), Observations{}), "h00/1/deploy")
	finish(t, r, sec(5), ts, wire.PhaseHealthy)
	r.Step(sec(5), Observations{})
	expectTasks(t, r.Step(sec(35), Observations{}))
	if w := r.Wake(sec(35)); !w.Equal(sec(95)) {
		t.Fatalf("wake %v", w.Sub(t0))
	}
	expectTasks(t, r.Step(sec(94), Observations{Gate: &GateSample{Step: 0, Requests: 10, ErrorRate: -1}}))
	expectTasks(t, r.Step(sec(95), Observations{}), "h00/2/rollback")
	if !strings.Contains(r.Error, "no error-rate measurement") {
		t.Fatalf("error %q", r.Error)
	}
}

func TestAgentLost(t *testing.T) {
	t.Parallel()
	spec := rollingSpec()
	r := mustRecord(t, spec, 2)
	expectTasks(t, r.Step(sec(0), Observations{}), "h00/1/deploy", "h01/1/deploy")
	apply(t, r, sec(1), ev(r, "h00", 1, wire.PhaseDownloading), ev(r, "h01", 1, wire.PhaseDownloading))
	obs := func(now float64) Observations {
		return Observations{Hosts: map[string]HostStatus{
			"h00": {LastHeartbeat: sec(2)},   // stopped at 2 s
			"h01": {LastHeartbeat: sec(now)}, // fine
		}}
	}
	expectTasks(t, r.Step(sec(16.9), obs(16.9)))
	expectState(t, r, StateRunning)
	// 15 s after its last heartbeat, h00's agent is lost.
	expectTasks(t, r.Step(sec(17), obs(17)), "h00/2/rollback", "h01/2/rollback")
	if tg := r.Targets[0]; tg.Error != "agent lost" || !strings.Contains(r.Error, "host h00: agent lost") {
		t.Fatalf("target %+v error %q", tg, r.Error)
	}
	// Its rollback fails the same way; h01 rolls back.
	apply(t, r, sec(18), ev(r, "h01", 2, wire.PhaseRolledBack))
	r.Step(sec(18), obs(18))
	expectState(t, r, StateFailed)
	if !strings.Contains(r.Error, "rollback to 1.4.1 failed on h00") {
		t.Fatalf("error %q", r.Error)
	}

	// A host reported down before its task is sent fails at once.
	r = mustRecord(t, baseSpec(), 2)
	ts := expectTasks(t, r.Step(sec(0), Observations{}), "h00/1/deploy")
	finish(t, r, sec(1), ts, wire.PhaseHealthy)
	down := Observations{Hosts: map[string]HostStatus{"h01": {Down: true}}}
	expectTasks(t, r.Step(sec(1), down), "h00/2/rollback")
	if tg := r.Targets[1]; tg.State != wire.PhaseFailed || tg.TaskID != 0 || tg.Moved {
		t.Fatalf("target %+v", tg)
	}
}

func TestTaskTimeout(t *testing.T) {
	t.Parallel()
	spec := baseSpec()
	spec.Timeouts.Task = wire.Duration(time.Minute)
	r := mustRecord(t, spec, 1)
	expectTasks(t, r.Step(sec(0), Observations{}), "h00/1/deploy")
	apply(t, r, sec(10), ev(r, "h00", 1, wire.PhaseDownloading))
	expectTasks(t, r.Step(sec(59), Observations{}))
	if w := r.Wake(sec(10)); !w.Equal(sec(60)) {
		t.Fatalf("wake %v", w.Sub(t0))
	}
	expectTasks(t, r.Step(sec(60), Observations{}), "h00/2/rollback")
	if r.Error != "host h00: deploy task timed out after 1m0s" {
		t.Fatalf("error %q", r.Error)
	}
	// The agent's late healthy does not revive the task.
	if changed, _ := r.Apply(ev(r, "h00", 1, wire.PhaseHealthy), sec(61)); changed {
		t.Fatal("late healthy changed a timed-out task")
	}
}

func TestStepTimeout(t *testing.T) {
	t.Parallel()
	spec := baseSpec()
	spec.Timeouts = Timeouts{Step: wire.Duration(time.Minute), Task: wire.Duration(time.Minute)}
	r := mustRecord(t, spec, 3)
	ts := expectTasks(t, r.Step(sec(0), Observations{}), "h00/1/deploy")
	finish(t, r, sec(25), ts, wire.PhaseHealthy)
	ts = expectTasks(t, r.Step(sec(25), Observations{}), "h01/1/deploy")
	finish(t, r, sec(50), ts, wire.PhaseHealthy)
	expectTasks(t, r.Step(sec(50), Observations{}), "h02/1/deploy")
	expectTasks(t, r.Step(sec(60), Observations{}), "h00/2/rollback", "h01/2/rollback", "h02/2/rollback")
	if r.Error != "step 1 timed out after 1m0s" {
		t.Fatalf("error %q", r.Error)
	}
}

func TestResend(t *testing.T) {
	t.Parallel()
	r := mustRecord(t, baseSpec(), 1)
	expectTasks(t, r.Step(sec(0), Observations{}), "h00/1/deploy")
	expectTasks(t, r.Step(sec(29), Observations{}))
	ts := expectTasks(t, r.Step(sec(30), Observations{}), "h00/1/deploy")
	if !ts[0].Resend || r.Targets[0].Sends != 2 {
		t.Fatalf("resend %+v, sends %d", ts[0], r.Targets[0].Sends)
	}
	expectTasks(t, r.Step(sec(31), Observations{}))
	expectTasks(t, r.Step(sec(60), Observations{}), "h00/1/deploy")
	apply(t, r, sec(61), ev(r, "h00", 1, wire.PhaseDownloading))
	expectTasks(t, r.Step(sec(200), Observations{})) // answered: no more resends
}
