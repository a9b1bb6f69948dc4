package agent

import (
	"context"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/feed"
	"github.com/wharfhq/wharf/runner/hostmetrics"
)

// Instance metrics the agent feeds each step, tagged
// app=,instance=,process=,version=.
const (
	// MetricInstanceUp is 1 while the instance's process runs, else 0.
	MetricInstanceUp = "wharf.instance.up"
	// MetricInstanceState is the supervisor's state: 1 running, 2 backoff
	// (crashed, restart pending), 3 stopping, 4 stopped.
	MetricInstanceState = "wharf.instance.state"
	// MetricInstanceRestarts counts the restarts after crashes.
	MetricInstanceRestarts = "wharf.instance.restarts"
)

// feedMetrics pushes the host's and the instances' points every FeedStep.
func (a *Agent) feedMetrics(ctx context.Context) {
	defer a.loops.Done()
	host := hostmetrics.New(hostmetrics.Options{Proc: os.DirFS("/proc"), Mounts: []string{a.opts.DataDir},
		Endpoint: a.opts.HostID, Step: a.opts.FeedStep})
	feed.Run(ctx, feed.Options{Step: a.opts.FeedStep, Sink: a.opts.Feed, Logger: a.log, Metrics: a.opts.Metrics, Source: "agent", Collect: func(now time.Time) []feed.Point {
		return append(host.Collect(now), a.instancePoints(now)...)
	}})
}

// instancePoints are the state of every supervised instance at now.
func (a *Agent) instancePoints(now time.Time) []feed.Point {
	a.mu.Lock()
	var procs []*proc
	versions := map[*proc]string{}
	for _, ar := range a.apps {
		for _, g := range append([]*gen{ar.cur}, ar.retiring...) {
			if g == nil {
				continue
			}
			for _, p := range g.procs {
				procs = append(procs, p)
				versions[p] = g.version
			}
		}
	}
	a.mu.Unlock()
	slices.SortFunc(procs, func(x, y *proc) int { return strings.Compare(x.name, y.name) })
	base := feed.Point{Endpoint: a.opts.HostID, Timestamp: now.Unix(), Step: max(1, int64(a.opts.FeedStep/time.Second)), CounterType: feed.Gauge}
	out := make([]feed.Point, 0, 3*len(procs))
	for _, p := range procs {
		st := p.p.Status()
		base.Tags = feed.Tags("app", p.app, "instance", p.name, "process", p.process, "version", versions[p])
		up := 0.0
		if st.Running() {
			up = 1
		}
		for _, m := range []struct {
			name string
			v    float64
		}{{MetricInstanceUp, up}, {MetricInstanceState, float64(st.State)}, {MetricInstanceRestarts, float64(st.Restarts)}} {
			pt := base
			pt.Metric, pt.Value = m.name, m.v
			out = append(out, pt)
		}
	}
	return out
}
