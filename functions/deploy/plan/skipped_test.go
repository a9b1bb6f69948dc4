package plan

import (
	"testing"
)

// phases is the State of each target of r.
func phases(r *Record) []Phase {
	out := make([]Phase, len(r.Targets))
	for i, t := range r.Targets {
		out[i] = t.State
	}
	return out
}

func expectPhases(t *testing.T, r *Record, want ...Phase) {
	t.Helper()
	got := phases(r)
	if len(got) != len(want) {
		t.Fatalf("phases %q, want %q", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("phases %q, want %q", got, want)
		}
	}
}

// TestRolledBackSkipsUnreachedTargets: the targets a rolled-back deploy
// never sent a task to are skipped, not pending, and say why.
func TestRolledBackSkipsUnreachedTargets(t *testing.T) {
	t.Parallel()
	spec := rollingSpec()
	spec.Strategy.Batch = Count(1)
	spec.MaxUnavailable = Count(1)
	r := mustRecord(t, spec, 3)
	ts := expectTasks(t, r.Step(sec(0), Observations{}), "h00/1/deploy")
	finish(t, r, sec(1), ts, PhaseFailed)
	ts = expectTasks(t, r.Step(sec(1), Observations{}), "h00/2/rollback")
	finish(t, r, sec(2), ts, PhaseRolledBack)
	expectTasks(t, r.Step(sec(2), Observations{}))
	expectState(t, r, StateRolledBack)
	expectPhases(t, r, PhaseRolledBack, PhaseSkipped, PhaseSkipped)
	if s := r.Summary(); s.Counts[PhaseSkipped] != 2 || s.Counts[PhasePending] != 0 {
		t.Fatalf("summary counts %v", s.Counts)
	}
	last := r.Targets[1].Events[len(r.Targets[1].Events)-1]
	if last.State != PhaseSkipped || last.Msg == "" {
		t.Fatalf("a skipped target says why: %+v", last)
	}
	// The record still loads, and a late event for a skipped target is
	// refused (no task was ever sent to it).
	b := mustJSON(t, r)
	if _, err := ParseRecord(b); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Apply(ev(r, "h01", 1, PhaseHealthy), sec(3)); err == nil {
		t.Fatal("an event for a skipped target applied")
	}
}

// TestAbortedSkipsUnreachedTargets: an abort, with or without a rollback,
// leaves the targets never reached skipped; a succeeded deploy skips none.
func TestAbortedSkipsUnreachedTargets(t *testing.T) {
	t.Parallel()
	r := mustRecord(t, rollingSpec(), 3)
	if err := r.Abort(sec(0), "bob", "wrong version"); err != nil {
		t.Fatal(err)
	}
	expectState(t, r, StateAborted)
	expectPhases(t, r, PhaseSkipped, PhaseSkipped, PhaseSkipped)

	off := false
	spec := rollingSpec()
	spec.AutoRollback = &off
	r = mustRecord(t, spec, 3)
	ts := expectTasks(t, r.Step(sec(0), Observations{}), "h00/1/deploy", "h01/1/deploy")
	finish(t, r, sec(1), ts, PhaseHealthy)
	if err := r.Abort(sec(1), "bob", ""); err != nil {
		t.Fatal(err)
	}
	expectState(t, r, StateAborted)
	expectPhases(t, r, PhaseHealthy, PhaseHealthy, PhaseSkipped)

	r = mustRecord(t, rollingSpec(), 3)
	for i := 0; !r.Done() && i < 10; i++ {
		finish(t, r, sec(float64(i)), tasks(t, r.Step(sec(float64(i)), Observations{})), PhaseHealthy)
	}
	expectState(t, r, StateSucceeded)
	expectPhases(t, r, PhaseHealthy, PhaseHealthy, PhaseHealthy)
}
