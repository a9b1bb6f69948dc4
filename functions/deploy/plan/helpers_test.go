package plan

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/wire"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func sec(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Second))) }

var (
	relNew  = Release{Version: "1.4.2", SHA256: strings.Repeat("b", 64)}
	relPrev = Release{Version: "1.4.1", SHA256: strings.Repeat("a", 64)}
)

// targets is n targets h00, h01, ... in room bj.
func targets(n int) []Target {
	out := make([]Target, n)
	for i := range out {
		out[i] = Target{Host: fmt.Sprintf("h%02d", i), Room: "bj"}
	}
	return out
}

func baseSpec() Spec {
	return Spec{Version: relNew.Version, Why: "fix checkout", Targets: Targets{All: true}}
}

func mustRecord(t testing.TB, spec Spec, n int) *Record {
	t.Helper()
	r, err := NewRecord("d-1", "shop", relNew, relPrev, "alice", spec, targets(n), t0)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tasks is the SendTasks of acts, failing on any other action.
func tasks(t testing.TB, acts []Action) []SendTask {
	t.Helper()
	var out []SendTask
	for _, a := range acts {
		st, ok := a.(SendTask)
		if !ok {
			t.Fatalf("unexpected action %#v", a)
		}
		out = append(out, st)
	}
	return out
}

// hostsOf is "host/task/kind" of each task, sorted.
func hostsOf(ts []SendTask) []string {
	var out []string
	for _, s := range ts {
		out = append(out, fmt.Sprintf("%s/%d/%s", s.Host, s.TaskID, s.Kind))
	}
	slices.Sort(out)
	return out
}

func expectTasks(t testing.TB, acts []Action, want ...string) []SendTask {
	t.Helper()
	ts := tasks(t, acts)
	if got := hostsOf(ts); !slices.Equal(got, want) {
		t.Fatalf("tasks %q, want %q", got, want)
	}
	return ts
}

func expectState(t testing.TB, r *Record, want State) {
	t.Helper()
	if r.State != want {
		t.Fatalf("state %s, want %s (error %q)", r.State, want, r.Error)
	}
}

// ev is an agent event of r for host's task.
func ev(r *Record, host string, task int, state wire.Phase) wire.Event {
	return wire.Event{DeployID: r.ID, TaskID: task, Host: host, State: state, Msg: string(state)}
}

// apply applies events at now, failing on errors.
func apply(t testing.TB, r *Record, now time.Time, evs ...wire.Event) {
	t.Helper()
	for _, e := range evs {
		if _, err := r.Apply(e, now); err != nil {
			t.Fatalf("Apply(%+v): %v", e, err)
		}
	}
}

// finish reports the whole life of each task: downloading, starting, end.
func finish(t testing.TB, r *Record, now time.Time, ts []SendTask, end wire.Phase) {
	t.Helper()
	for _, s := range ts {
		apply(t, r, now, ev(r, s.Host, s.TaskID, wire.PhaseDownloading), ev(r, s.Host, s.TaskID, wire.PhaseStarting), ev(r, s.Host, s.TaskID, end))
	}
}

// assertFields fails unless err joins *FieldErrors for exactly fields (in
// any order); no fields means no error.
func assertFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	var got []string
	var walk func(error)
	walk = func(e error) {
		switch u := e.(type) {
		case *FieldError:
			got = append(got, u.Field)
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		default:
			var fe *FieldError
			if errors.As(e, &fe) {
				got = append(got, fe.Field)
			} else {
				got = append(got, "?"+e.Error())
			}
		}
	}
	if err != nil {
		walk(err)
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(fields))
	if !slices.Equal(got, want) {
		t.Fatalf("error %v names fields %q, want %q", err, got, want)
	}
}
