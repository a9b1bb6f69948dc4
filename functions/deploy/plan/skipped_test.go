package plan

import (
	"testing"

	"github.com/wharfhq/wharf/functions/deploy/wire"
)

// phases is the State of each target of r.
func phases(r *Record) []wire.Phase {
	out := make([]wire.Phase, len(r.Targets))
	for i, t := range r.Targets {
		out[i] = t.State
	}
	return out
}

func expectPhases(t *testing.T, r *Record, want ...wire.Phase) {
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
	finish(t, r, sec(1), ts, wire.PhaseFailed)
	ts = expectTasks(t, r.Step(sec(1), Observations{}), "h00/2/rollback")
	finish(t, r, sec(2), ts, wire.PhaseRolledBack)
	expectTasks(t, r.Step(sec(2), Observations{}))
	expectState(t, r, StateRolledBack)
	expectPhases(t, r, wire.PhaseRolledBack, wire.PhaseSkipped, wire.PhaseSkipped)
	if s := r.Summary(); s.Counts[wire.PhaseSkipped] != 2 || s.Counts[wire.PhasePending] != 0 {
		t.Fatalf("summary counts %v", s.Counts)
	}
	last := r.Targets[1].Events[len(r.Targets[1].Events)-1]
	if last.State != wire.PhaseSkipped || last.Msg == "" {
		t.Fatalf("a skipped target says why: %+v", last)
	}
	// The record still loads, and a late event for a skipped target is
	// refused (no task was ever sent to it).
	b := mustJSON(t, r)
	if _, err := ParseRecord(b); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Apply(ev(r, "h01", 1, wire.PhaseHealthy), sec(3)); err == nil {
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
	expectPhases(t, r, wire.PhaseSkipped, wire.PhaseSkipped, wire.PhaseSkipped)

	off := false
	spec := rollingSpec()
	spec.AutoRollback = &off
	r = mustRecord(t, spec, 3)
	ts := expectTasks(t, r.Step(sec(0), Observations{}), "h00/1/deploy", "h01/1/deploy")
	finish(t, r, sec(1), ts, wire.PhaseHealthy)
	if err := r.Abort(sec(1), "bob", ""); err != nil {
		t.Fatal(err)
	}
	expectState(t, r, StateAborted)
	expectPhases(t, r, wire.PhaseHealthy, wire.PhaseHealthy, wire.PhaseSkipped)

	r = mustRecord(t, rollingSpec(), 3)
	for i := 0; !r.Done() && i < 10; i++ {
		finish(t, r, sec(float64(i)), tasks(t, r.Step(sec(float64(i)), Observations{})), wire.PhaseHealthy)
	}
	expectState(t, r, StateSucceeded)
	expectPhases(t, r, wire.PhaseHealthy, wire.PhaseHealthy, wire.PhaseHealthy)
}
