package plan

import (
	"fmt"
	"testing"

	"github.com/wharfhq/wharf/functions/deploy/wire"
)

// BenchmarkApply: one agent event, new (changes the record) and
// duplicate (ignored), on a deploy of n targets.
func BenchmarkApply(b *testing.B) {
	for _, n := range []int{10, 1000} {
		spec := baseSpec()
		spec.MaxUnavailable = Percent(100)
		b.Run(fmt.Sprintf("targets=%d/new", n), func(b *testing.B) {
			r := mustRecord(b, spec, n)
			r.Step(sec(0), Observations{})
			host := r.Targets[n/2].Host
			b.ReportAllocs()
			for b.Loop() {
				// Rewind the target so that each event moves it forward.
				t := &r.Targets[n/2]
				t.Progress, t.State, t.Events = wire.PhasePending, wire.PhasePending, t.Events[:1]
				if changed, err := r.Apply(wire.Event{DeployID: r.ID, TaskID: 1, Host: host, State: wire.PhaseStarting, Msg: "starting"}, sec(1)); !changed || err != nil {
					b.Fatal(changed, err)
				}
			}
		})
		b.Run(fmt.Sprintf("targets=%d/duplicate", n), func(b *testing.B) {
			r := mustRecord(b, spec, n)
			r.Step(sec(0), Observations{})
			e := wire.Event{DeployID: r.ID, TaskID: 1, Host: r.Targets[n/2].Host, State: wire.PhaseStarting}
			apply(b, r, sec(1), e)
			b.ReportAllocs()
			for b.Loop() {
				if changed, err := r.Apply(e, sec(2)); changed || err != nil {
					b.Fatal(changed, err)
				}
			}
		})
	}
}

// BenchmarkStep: the periodic Step of a running deploy with every task
// in flight and agents heartbeating (nothing to do: the common case).
func BenchmarkStep(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("targets=%d", n), func(b *testing.B) {
			spec := baseSpec()
			spec.MaxUnavailable = Percent(100)
			r := mustRecord(b, spec, n)
			r.Step(sec(0), Observations{})
			obs := Observations{Hosts: map[string]HostStatus{}}
			for _, t := range r.Targets {
				apply(b, r, sec(1), wire.Event{DeployID: r.ID, TaskID: 1, Host: t.Host, State: wire.PhaseDownloading})
				obs.Hosts[t.Host] = HostStatus{LastHeartbeat: sec(9)}
			}
			b.ReportAllocs()
			for b.Loop() {
				if acts := r.Step(sec(10), obs); len(acts) != 0 {
					b.Fatal(acts)
				}
			}
		})
	}
}
