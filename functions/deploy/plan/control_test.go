package plan

import (
	"errors"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/wire"
)

func TestPauseResume(t *testing.T) {
	t.Parallel()
	spec := rollingSpec()
	spec.Strategy.Batch = Count(1)
	spec.Timeouts = Timeouts{Step: wire.Duration(time.Minute), Task: wire.Duration(time.Minute)}
	r := mustRecord(t, spec, 3)
	if err := r.Pause(sec(0), "bob", ""); !errors.Is(err, ErrWrongState) {
		t.Fatalf("pause while pending: %v", err)
	}
	ts := expectTasks(t, r.Step(sec(0), Observations{}), "h00/1/deploy")
	if err := r.Resume(sec(1), "bob", ""); !errors.Is(err, ErrWrongState) {
		t.Fatalf("resume while running: %v", err)
	}
	if err := r.Pause(sec(5), "bob", ""); err != nil {
		t.Fatal(err)
	}
	expectState(t, r, StatePaused)
	if err := r.Pause(sec(6), "bob", ""); !errors.Is(err, ErrWrongState) {
		t.Fatalf("pause twice: %v", err)
	}
	// The task in flight finishes; nothing new is sent while paused, and
	// the step deadline (1 m) does not run out.
	finish(t, r, sec(10), ts, wire.PhaseHealthy)
	expectTasks(t, r.Step(sec(10), Observations{}))
	expectTasks(t, r.Step(sec(600), Observations{}))
	expectState(t, r, StatePaused)
	if err := r.Resume(sec(600), "carol", ""); err != nil {
		t.Fatal(err)
	}
	if !r.Steps[0].Deadline.Equal(sec(60 + 595)) {
		t.Fatalf("deadline %v", r.Steps[0].Deadline.Sub(t0))
	}
	ts = expectTasks(t, r.Step(sec(600), Observations{}), "h01/1/deploy")
	finish(t, r, sec(610), ts, wire.PhaseHealthy)
	ts = expectTasks(t, r.Step(sec(610), Observations{}), "h02/1/deploy")

	// A failure while paused still rolls back.
	if err := r.Pause(sec(611), "bob", ""); err != nil {
		t.Fatal(err)
	}
	finish(t, r, sec(612), ts, wire.PhaseFailed)
	expectTasks(t, r.Step(sec(612), Observations{}), "h00/2/rollback", "h01/2/rollback", "h02/2/rollback")
	expectState(t, r, StateRollingBack)
	for _, f := range []func() error{
		func() error { return r.Pause(sec(613), "bob", "") },
		func() error { return r.Resume(sec(613), "bob", "") },
		func() error { return r.Abort(sec(613), "bob", "") },
	} {
		if err := f(); !errors.Is(err, ErrWrongState) {
			t.Fatalf("while rolling back: %v", err)
		}
	}
}

func TestTimedPauseAndPause(t *testing.T) {
	t.Parallel()
	spec := canarySpec()
	spec.Health = Health{}
	r := mustRecord(t, spec, 10)
	ts := expectTasks(t, r.Step(sec(0), Observations{}), "h00/1/deploy")
	finish(t, r, sec(10), ts, wire.PhaseHealthy)
	r.Step(sec(10), Observations{})
	if !r.NextAt.Equal(sec(130)) {
		t.Fatalf("next at %v", r.NextAt.Sub(t0))
	}
	// Paused for 100 s during the 2 m pause: the next step waits 100 s longer.
	must(t, r.Pause(sec(20), "bob", ""))
	must(t, r.Resume(sec(120), "bob", ""))
	expectTasks(t, r.Step(sec(229), Observations{}))
	expectTasks(t, r.Step(sec(230), Observations{}), "h01/1/deploy", "h02/1/deploy", "h03/1/deploy", "h04/1/deploy")
}

func TestManualPause(t *testing.T) {
	t.Parallel()
	spec := canarySpec()
	spec.Strategy = Strategy{Kind: KindCanary, Steps: []int{50, 100}, Pause: Pause{Manual: true}}
	spec.Health = Health{}
	r := mustRecord(t, spec, 2)
	ts := expectTasks(t, r.Step(sec(0), Observations{}), "h00/1/deploy")
	finish(t, r, sec(10), ts, wire.PhaseHealthy)
	expectTasks(t, r.Step(sec(10), Observations{}))
	expectState(t, r, StateWaiting)
	expectTasks(t, r.Step(sec(5000), Observations{}))
	expectState(t, r, StateWaiting)
	if err := r.Pause(sec(5000), "bob", ""); !errors.Is(err, ErrWrongState) {
		t.Fatalf("pause while waiting: %v", err)
	}
	must(t, r.Resume(sec(6000), "bob", ""))
	ts = expectTasks(t, r.Step(sec(6000), Observations{}), "h01/1/deploy")
	if !r.Steps[1].StartedAt.Equal(sec(6000)) {
		t.Fatalf("step 2 started at %v", r.Steps[1].StartedAt.Sub(t0))
	}
	finish(t, r, sec(6010), ts, wire.PhaseHealthy)
	r.Step(sec(6010), Observations{})
	expectState(t, r, StateSucceeded)
}

func TestAbort(t *testing.T) {
	t.Parallel()
	// Abort with moved targets rolls them back, the one in flight too.
	r := mustRecord(t, rollingSpec(), 4)
	ts := expectTasks(t, r.Step(sec(0), Observations{}), "h00/1/deploy", "h01/1/deploy")
	finish(t, r, sec(1), ts[:1], wire.PhaseHealthy)
	must(t, r.Abort(sec(2), "bob", "wrong build"))
	expectState(t, r, StateRollingBack)
	ts = expectTasks(t, r.Step(sec(2), Observations{}), "h00/2/rollback", "h01/2/rollback")
	finish(t, r, sec(3), ts, wire.PhaseRolledBack)
	r.Step(sec(3), Observations{})
	expectState(t, r, StateRolledBack)
	if r.Error != "aborted by bob: wrong build" || r.Steps[0].Error != "aborted" {
		t.Fatalf("error %q, step %+v", r.Error, r.Steps[0])
	}

	// Nothing moved yet: aborted at once.
	r = mustRecord(t, rollingSpec(), 4)
	must(t, r.Abort(sec(0), "bob", ""))
	expectState(t, r, StateAborted)
	if r.Step(sec(1), Observations{}) != nil || r.Error != "aborted by bob" {
		t.Fatalf("after abort: %q", r.Error)
	}
	// Aborted before its first Step (current -1), it still loads.
	roundTrip(t, r)

	// Without auto-rollback: aborted, the targets stay.
	off := false
	spec := rollingSpec()
	spec.AutoRollback = &off
	r = mustRecord(t, spec, 4)
	expectTasks(t, r.Step(sec(0), Observations{}), "h00/1/deploy", "h01/1/deploy")
	must(t, r.Pause(sec(1), "bob", ""))
	must(t, r.Abort(sec(2), "bob", ""))
	expectState(t, r, StateAborted)
	if r.Step(sec(3), Observations{}) != nil {
		t.Fatal("an aborted deploy sends tasks")
	}
}

func TestWrongState(t *testing.T) {
	t.Parallel()
	for _, s := range []State{StateSucceeded, StateFailed, StateRolledBack, StateAborted} {
		r := mustRecord(t, baseSpec(), 1)
		r.Step(sec(0), Observations{})
		r.State = s
		for name, err := range map[string]error{
			"pause":  r.Pause(sec(1), "bob", ""),
			"resume": r.Resume(sec(1), "bob", ""),
			"abort":  r.Abort(sec(1), "bob", "why"),
		} {
			if !errors.Is(err, ErrWrongState) {
				t.Errorf("%s while %s: %v", name, s, err)
			}
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
