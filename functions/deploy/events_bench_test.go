package deploy

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/plan"
	"github.com/wharfhq/wharf/functions/deploy/wire"
)

// benchRecord is a stored deploy of n targets, all with their task sent.
func benchRecord(b *testing.B, n int) (stored []byte, id string) {
	b.Helper()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	spec := plan.Spec{Version: "2.0.0", Targets: plan.Targets{All: true}, MaxUnavailable: plan.Percent(100)}
	targets := make([]plan.Target, n)
	for i := range targets {
		targets[i] = plan.Target{Host: fmt.Sprintf("h%03d", i), Room: "bj"}
	}
	id = newID("shop", now)
	rec, err := plan.NewRecord(id, "shop", plan.Release{Version: "2.0.0", SHA256: strings.Repeat("b", 64)},
		plan.Release{Version: "1.0.0", SHA256: strings.Repeat("a", 64)}, "alice", spec, targets, now)
	if err != nil {
		b.Fatal(err)
	}
	if acts := rec.Step(now, plan.Observations{}); len(acts) != n {
		b.Fatalf("%d tasks, want %d", len(acts), n)
	}
	stored, err = json.Marshal(rec)
	if err != nil {
		b.Fatal(err)
	}
	return stored, id
}

// BenchmarkEventApply is the CPU side of HandleEvent: decode the event,
// load the stored record, Apply, encode the record (the store round trips
// are not included).
func BenchmarkEventApply(b *testing.B) {
	now := time.Date(2026, 3, 1, 12, 0, 5, 0, time.UTC)
	for _, n := range []int{1, 10, 100} {
		for _, kind := range []string{"new", "duplicate"} {
			b.Run(fmt.Sprintf("targets=%d/%s", n, kind), func(b *testing.B) {
				stored, id := benchRecord(b, n)
				phase := wire.PhaseStarting
				if kind == "duplicate" {
					phase = wire.PhasePending // changes nothing: no encode
				}
				body, _ := json.Marshal(wire.Event{DeployID: id, TaskID: 1, Host: fmt.Sprintf("h%03d", n-1), State: phase, At: now, Msg: "starting web"})
				b.SetBytes(int64(len(stored)))
				b.ReportAllocs()
				for b.Loop() {
					ev, err := wire.ParseEvent(body)
					if err != nil {
						b.Fatal(err)
					}
					out, changed, err := applyEvent(stored, ev, now)
					if err != nil || changed != (kind == "new") || changed && len(out) == 0 {
						b.Fatalf("changed %v, %d bytes, %v", changed, len(out), err)
					}
				}
			})
		}
	}
}
