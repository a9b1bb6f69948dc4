package plan

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestApply(t *testing.T) {
	t.Parallel()
	spec := baseSpec()
	spec.MaxUnavailable = Percent(100)
	r := mustRecord(t, spec, 2)
	expectTasks(t, r.Step(sec(0), Observations{}), "h00/1/deploy", "h01/1/deploy")

	for i, tt := range []struct {
		ev      Event
		changed bool
		err     error
		state   Phase
	}{
		{ev(r, "h00", 1, PhasePending), false, nil, PhasePending},
		{ev(r, "h00", 1, PhaseStarting), true, nil, PhaseStarting},
		{ev(r, "h00", 1, PhaseDownloading), false, nil, PhaseStarting}, // late
		{ev(r, "h00", 1, PhaseStarting), false, nil, PhaseStarting},    // repeated
		{ev(r, "h00", 1, PhaseHealthy), true, nil, PhaseHealthy},
		{ev(r, "h00", 1, PhaseFailed), false, nil, PhaseHealthy}, // terminal is final
		{ev(r, "h00", 1, PhaseHealthy), false, nil, PhaseHealthy},
		{ev(r, "h00", 2, PhaseHealthy), false, ErrUnknownTask, PhaseHealthy},
		{ev(r, "h00", 0, PhaseHealthy), false, ErrUnknownTask, PhaseHealthy},
		{ev(r, "h00", 1, PhaseRolledBack), false, ErrBadEvent, PhaseHealthy},
		{ev(r, "h00", 1, "exploded"), false, ErrBadEvent, PhaseHealthy},
		{ev(r, "zz", 1, PhaseHealthy), false, ErrUnknownTarget, ""},
		{Event{DeployID: "d-2", TaskID: 1, Host: "h00", State: PhaseHealthy}, false, ErrOtherDeploy, PhaseHealthy},
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
	if len(h0.Events) != 3 || h0.Events[1].State != PhaseStarting || h0.Events[2].State != PhaseHealthy || !h0.EndedAt.Equal(sec(5)) {
		t.Fatalf("events %+v ended %v", h0.Events, h0.EndedAt)
	}

	// h01 fails; the step stops and rollback tasks (task 2) go out.
	apply(t, r, sec(20), Event{DeployID: r.ID, TaskID: 1, Host: "h01", State: PhaseFailed, Msg: "sha256 mismatch", LogTail: "a\nb\n"})
	if r.Targets[1].Error != "sha256 mismatch" || r.Targets[1].Events[1].LogTail != "a\nb" {
		t.Fatalf("target %+v", r.Targets[1])
	}
	expectTasks(t, r.Step(sec(21), Observations{}), "h00/2/rollback", "h01/2/rollback")
	expectState(t, r, StateRollingBack)
	for _, tt := range []struct {
		ev      Event
		changed bool
		state   Phase
	}{
		{ev(r, "h00", 1, PhaseHealthy), false, PhaseRollingBack}, // superseded task
		{ev(r, "h00", 2, PhaseDownloading), true, PhaseRollingBack},
		{ev(r, "h00", 2, PhaseHealthy), true, PhaseRolledBack}, // healthy of a rollback is rolled_back
		{ev(r, "h00", 2, PhaseRolledBack), false, PhaseRolledBack},
	} {
		changed, err := r.Apply(tt.ev, sec(22))
		if err != nil || changed != tt.changed || r.Targets[0].State != tt.state {
			t.Fatalf("Apply(%d %s) = %v, %v, state %s; want %v, %s", tt.ev.TaskID, tt.ev.State, changed, err, r.Targets[0].State, tt.changed, tt.state)
		}
	}
}

func TestParseEvent(t *testing.T) {
	t.Parallel()
	e, err := ParseEvent([]byte(`{"deploy_id":"d-1","task_id":2,"host":"h1","state":"starting","at":"2026-03-01T12:00:00Z","duration":"1.5s","log_tail":"ok","agent_version":"9"}`))
	if err != nil || e.TaskID != 2 || e.State != PhaseStarting || e.Duration.D() != 1500*time.Millisecond || !e.At.Equal(t0) {
		t.Fatalf("%+v, %v", e, err)
	}
	for _, tt := range []struct {
		body   string
		fields []string
	}{
		{`{"deploy_id":"","task_id":0,"host":"a b","state":"done","duration":"-1s"}`, []string{"deploy_id", "task_id", "host", "state", "duration"}},
		{`{"deploy_id":"d","task_id":"1","host":"h","state":"healthy"}`, []string{"task_id"}},
	} {
		_, err := ParseEvent([]byte(tt.body))
		assertFields(t, err, tt.fields...)
	}
	if _, err := ParseEvent([]byte(`{"deploy_id":"d","task_id":1,"host":"h","state":"healthy"}x`)); err == nil {
		t.Fatal("trailing data accepted")
	}
}

func TestLogTail(t *testing.T) {
	t.Parallel()
	var lines []string
	for i := range 30 {
		lines = append(lines, strings.Repeat("x", i))
	}
	got := LogTail(strings.Join(lines, "\n") + "\n")
	if want := strings.Join(lines[10:], "\n"); got != want {
		t.Fatalf("tail of 30 lines:\n%q\nwant\n%q", got, want)
	}
	big := strings.Repeat("é", MaxLogBytes) // 2 bytes each
	got = LogTail(big)
	if len(got) > MaxLogBytes || !strings.HasSuffix(big, got) || !strings.HasPrefix(got, "é") {
		t.Fatalf("tail of %d bytes: %d bytes", len(big), len(got))
	}
	if Clip("héllo", 2) != "h" {
		t.Fatalf("clip cuts a rune: %q", Clip("héllo", 2))
	}
}

func TestEventsBounded(t *testing.T) {
	t.Parallel()
	r := mustRecord(t, baseSpec(), 1)
	r.Step(sec(0), Observations{})
	tg := &r.Targets[0]
	for i := range 3 * MaxEvents {
		tg.addEvent(TargetEvent{At: sec(float64(i)), Msg: strings.Repeat("m", 2*MaxMsg)})
	}
	if len(tg.Events) != MaxEvents || tg.Dropped != 2*MaxEvents+1 || !tg.Events[MaxEvents-1].At.Equal(sec(3*MaxEvents-1)) || len(tg.Events[0].Msg) != MaxMsg {
		t.Fatalf("%d events, %d dropped", len(tg.Events), tg.Dropped)
	}
	for i := range 2 * MaxTimeline {
		r.note(sec(float64(i)), WhatPaused, "bob", "")
	}
	if len(r.Timeline) != MaxTimeline || r.Timeline[0].What != WhatCreated || !r.Timeline[MaxTimeline-1].At.Equal(sec(2*MaxTimeline-1)) {
		t.Fatalf("timeline of %d, first %+v", len(r.Timeline), r.Timeline[0])
	}
}
