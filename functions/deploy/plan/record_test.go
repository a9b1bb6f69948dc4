package plan

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/wire"
)

func roundTrip(t *testing.T, r *Record) *Record {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseRecord(b)
	if err != nil {
		t.Fatalf("ParseRecord: %v\n%s", err, b)
	}
	if b2, _ := json.Marshal(c); string(b2) != string(b) {
		t.Fatalf("round trip differs:\n%s\n%s", b, b2)
	}
	return c
}

// TestRecordRoundTrip: a record stored and loaded at any point carries on
// exactly as the original does.
func TestRecordRoundTrip(t *testing.T) {
	t.Parallel()
	good := func(step int) Observations {
		return Observations{Gate: &GateSample{Step: step, Requests: 100, ErrorRate: 0.01}}
	}
	evAt := func(r *Record, now float64, host string, task int, p wire.Phase) {
		e := ev(r, host, task, p)
		e.At, e.Duration, e.LogTail = sec(now-0.5), wire.Duration(time.Second), "line 1\nline 2"
		apply(t, r, sec(now), e)
	}
	ops := []func(r *Record) []Action{
		func(r *Record) []Action { return r.Step(sec(0), Observations{}) },
		func(r *Record) []Action {
			evAt(r, 5, "h00", 1, wire.PhaseDownloading)
			return r.Step(sec(5), Observations{})
		},
		func(r *Record) []Action {
			evAt(r, 10, "h00", 1, wire.PhaseHealthy)
			return r.Step(sec(10), Observations{})
		},
		func(r *Record) []Action { return r.Step(sec(40), good(0)) },
		func(r *Record) []Action { must(t, r.Pause(sec(50), "bob", "")); return r.Step(sec(50), Observations{}) },
		func(r *Record) []Action {
			must(t, r.Resume(sec(100), "bob", ""))
			return r.Step(sec(100), Observations{})
		},
		func(r *Record) []Action { return r.Step(sec(210), Observations{}) },
		func(r *Record) []Action {
			for _, h := range []string{"h01", "h02", "h04"} {
				evAt(r, 215, h, 1, wire.PhaseDownloading)
			}
			evAt(r, 215, "h02", 1, wire.PhaseStarting)
			return r.Step(sec(215), Observations{})
		},
		func(r *Record) []Action { return r.Step(sec(245), Observations{}) }, // h03 resent
		func(r *Record) []Action {
			evAt(r, 250, "h03", 1, wire.PhaseFailed)
			return r.Step(sec(250), Observations{})
		},
		func(r *Record) []Action {
			for _, h := range []string{"h00", "h01", "h02"} {
				evAt(r, 260, h, 2, wire.PhaseRolledBack)
			}
			return r.Step(sec(260), Observations{})
		},
		func(r *Record) []Action {
			for _, h := range []string{"h03", "h04"} {
				evAt(r, 270, h, 2, wire.PhaseRolledBack)
			}
			return r.Step(sec(270), Observations{})
		},
	}
	type frame struct {
		acts []Action
		json string
	}
	run := func(r *Record, from int) []frame {
		var out []frame
		for _, op := range ops[from:] {
			acts := op(r)
			b, _ := json.Marshal(r)
			out = append(out, frame{acts, string(b)})
		}
		return out
	}
	ref := run(mustRecord(t, canarySpec(), 10), 0)
	var sent []string
	for _, f := range ref {
		sent = append(sent, hostsOf(tasks(t, f.acts))...)
	}
	if len(sent) != 11 || !strings.Contains(ref[len(ref)-1].json, `"state":"rolled_back"`) {
		t.Fatalf("reference run sent %v, ended %s", sent, ref[len(ref)-1].json)
	}
	for k := range ops {
		r := mustRecord(t, canarySpec(), 10)
		for _, op := range ops[:k] {
			op(r)
		}
		got := run(roundTrip(t, r), k)
		for i, f := range got {
			if !reflect.DeepEqual(f.acts, ref[k+i].acts) || f.json != ref[k+i].json {
				t.Fatalf("stored after op %d, op %d differs:\n%v\n%s\nwant\n%v\n%s", k, k+i, f.acts, f.json, ref[k+i].acts, ref[k+i].json)
			}
		}
	}
}

func TestParseRecordDamaged(t *testing.T) {
	t.Parallel()
	r := mustRecord(t, rollingSpec(), 4)
	r.Step(sec(0), Observations{})
	for name, edit := range map[string]func(r *Record){
		"target index":   func(r *Record) { r.Steps[1].Targets[0] = 9 },
		"target twice":   func(r *Record) { r.Steps[1].Targets[0] = 0 },
		"current":        func(r *Record) { r.Current = 5 },
		"pending":        func(r *Record) { r.State = StatePending },
		"state":          func(r *Record) { r.State = "exploded" },
		"no steps":       func(r *Record) { r.Steps = nil },
		"target phase":   func(r *Record) { r.Targets[0].Progress = "x" },
		"spec":           func(r *Record) { r.Spec.Version = "" },
		"no targets":     func(r *Record) { r.Targets = nil },
		"negative task":  func(r *Record) { r.Targets[0].TaskID = -1 },
		"current before": func(r *Record) { r.Current = -2 },
	} {
		c := roundTrip(t, r)
		edit(c)
		b, _ := json.Marshal(c)
		if _, err := ParseRecord(b); err == nil {
			t.Errorf("%s: damaged record accepted", name)
		}
	}
	if _, err := ParseRecord([]byte(`{"state":`)); err == nil {
		t.Error("truncated record accepted")
	}
}

func TestNewRecordErrors(t *testing.T) {
	t.Parallel()
	bad := baseSpec()
	bad.Strategy.Kind = "x"
	_, err := NewRecord("", "Shop", Release{Version: "9", SHA256: "xyz"}, Release{Version: "1"}, "", bad,
		[]Target{{Host: "h1"}, {Host: "h1"}}, t0)
	assertFields(t, err, "id", "app", "version", "sha256", "previous", "who", "strategy.kind", "targets[1]")
	_, err = NewRecord("d", "shop", relNew, relPrev, "alice", baseSpec(), nil, t0)
	assertFields(t, err, "targets")
	// The spec is kept with its defaults.
	r := mustRecord(t, baseSpec(), 1)
	if r.Spec.Timeouts.Task.D() != DefaultTaskTimeout || r.Spec.AutoRollback == nil || r.State != StatePending || r.Current != -1 {
		t.Fatalf("record %+v", r)
	}
}

func TestNewRollback(t *testing.T) {
	t.Parallel()
	spec := RollbackSpec(relPrev.Version, "1.4.2 leaks memory")
	hosts := []Host{{ID: "h00", Room: "bj", Alive: true}, {ID: "h01", Room: "bj", Alive: true}, {ID: "h02", Alive: false}}
	tgs, err := SelectTargets(spec, hosts)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRollback("rb-1", "shop", relPrev, relNew, "bob", spec, tgs, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Rollback || r.Spec.autoRollback() || len(r.Steps) != 1 || r.Version != relPrev.Version {
		t.Fatalf("rollback record %+v", r)
	}
	ts := expectTasks(t, r.Step(sec(0), Observations{}), "h00/1/deploy", "h01/1/deploy")
	if ts[0].Version != relPrev.Version || ts[0].SHA256 != relPrev.SHA256 {
		t.Fatalf("task %+v", ts[0])
	}
	// A rollback that fails is not rolled back.
	finish(t, r, sec(1), ts[:1], wire.PhaseFailed)
	expectTasks(t, r.Step(sec(1), Observations{}))
	expectState(t, r, StateFailed)
	if s := r.Summary(); !s.Rollback || s.Counts[wire.PhaseFailed] != 1 || s.Counts[wire.PhasePending] != 1 {
		t.Fatalf("summary %+v", s)
	}
}
