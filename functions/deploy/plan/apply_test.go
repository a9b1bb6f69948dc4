package plan

import (
	"errors"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/functions/deploy/wire"
)

func TestApply(t *testing.T) {
	t.Parallel()
	spec := baseSpec()
	spec.MaxUnavailable = Percent(100)
	r := mustRecord(t, spec, 2)
	expectTasks(t, r.Step(sec(0), Observations{}), "h00/1/deploy", "h01/1/deploy")

	for i, tt := range []struct {
		ev      wire.Event
		changed bool
		err     error
		state   wire.Phase
	}{
		{ev(r, "h00", 1, wire.PhasePending), false, nil, wire.PhasePending},
		{ev(r, "h00", 1, wire.PhaseStarting), true, nil, wire.PhaseStarting},
		{ev(r, "h00", 1, wire.PhaseDownloading), false, nil, wire.PhaseStarting}, // late
		{ev(r, "h00", 1, wire.PhaseStarting), false, nil, wire.PhaseStarting},    // repeated
		{ev(r, "h00", 1, wire.PhaseHealthy), true, nil, wire.PhaseHealthy},
		{ev(r, "h00", 1, wire.PhaseFailed), false, nil, wire.PhaseHealthy}, // terminal is final
		{ev(r, "h00", 1, wire.PhaseHealthy), false, nil, wire.PhaseHealthy},
		{ev(r, "h00", 2, wire.PhaseHealthy), false, ErrUnknownTask, wire.PhaseHealthy},
		{ev(r, "h00", 0, wire.PhaseHealthy), false, ErrUnknownTask, wire.PhaseHealthy},
		{ev(r, "h00", 1, wire.PhaseRolledBack), false, ErrBadEvent, wire.PhaseHealthy},
		{ev(r, "h00", 1, "exploded"), false, ErrBadEvent, wire.PhaseHealthy},
		{ev(r, "zz", 1, wire.PhaseHealthy), false, ErrUnknownTarget, ""},
		{wire.Event{DeployID: "d-2", TaskID: 1, Host: "h00", State: wire.PhaseHealthy}, false, ErrOtherDeploy, wire.PhaseHealthy},
	} {
		changed, err := r.Apply(tt.ev, sec(float64(i+1)))
		if changed != tt.changed || !errors.Is(err, tt.err) {
			t.Fatalf("%d: Apply(%s %d %s) = %v, %v; want %v, %v", i, tt.ev.Host, tt.ev.TaskID, tt.ev.State, changed, err, tt.changed, tt.err)
		}
		if tt.state != "" && r.Targets[0].State != tt.state {
			t.Fatalf("%d: target state %s, want %s", i, r.Targets[0].State, tt.state)
		}
	}
	h0 := r.Targets[0]
	if len(h0.Events) != 3 || h0.Events[1].State != wire.PhaseStarting || h0.Events[2].State != wire.PhaseHealthy || !h0.EndedAt.Equal(sec(5)) {
		t.Fatalf("events %+v ended %v", h0.Events, h0.EndedAt)
	}

	// h01 fails; the step stops and rollback tasks (task 2) go out.
	apply(t, r, sec(20), wire.Event{DeployID: r.ID, TaskID: 1, Host: "h01", State: wire.PhaseFailed, Msg: "sha256 mismatch", LogTail: "a\nb\n"})
	if r.Targets[1].Error != "sha256 mismatch" || r.Targets[1].Events[1].LogTail != "a\nb" {
		t.Fatalf("target %+v", r.Targets[1])
	}
	expectTasks(t, r.Step(sec(21), Observations{}), "h00/2/rollback", "h01/2/rollback")
	expectState(t, r, StateRollingBack)
	for _, tt := range []struct {
		ev      wire.Event
		changed bool
		state   wire.Phase
	}{
		{ev(r, "h00", 1, wire.PhaseHealthy), false, wire.PhaseRollingBack}, // superseded task
		{ev(r, "h00", 2, wire.PhaseDownloading), true, wire.PhaseRollingBack},
		{ev(r, "h00", 2, wire.PhaseHealthy), true, wire.PhaseRolledBack}, // healthy of a rollback is rolled_back
		{ev(r, "h00", 2, wire.PhaseRolledBack), false, wire.PhaseRolledBack},
	} {
		changed, err := r.Apply(tt.ev, sec(22))
		if err != nil || changed != tt.changed || r.Targets[0].State != tt.state {
			t.Fatalf("Apply(%d %s) = %v, %v, state %s; want %v, %s", tt.ev.TaskID, tt.ev.State, changed, err, r.Targets[0].State, tt.changed, tt.state)
		}
	}
}

func TestEventsBounded(t *testing.T) {
	t.Parallel()
	r := mustRecord(t, baseSpec(), 1)
	r.Step(sec(0), Observations{})
	tg := &r.Targets[0]
	for i := range 3 * MaxEvents {
		tg.addEvent(TargetEvent{At: sec(float64(i)), Msg: strings.Repeat("m", 2*wire.MaxMsg)})
	}
	if len(tg.Events) != MaxEvents || tg.Dropped != 2*MaxEvents+1 || !tg.Events[MaxEvents-1].At.Equal(sec(3*MaxEvents-1)) || len(tg.Events[0].Msg) != wire.MaxMsg {
		t.Fatalf("%d events, %d dropped", len(tg.Events), tg.Dropped)
	}
	for i := range 2 * MaxTimeline {
		r.note(sec(float64(i)), WhatPaused, "bob", "")
	}
	if len(r.Timeline) != MaxTimeline || r.Timeline[0].What != WhatCreated || !r.Timeline[MaxTimeline-1].At.Equal(sec(2*MaxTimeline-1)) {
		t.Fatalf("timeline of %d, first %+v", len(r.Timeline), r.Timeline[0])
	}
}
