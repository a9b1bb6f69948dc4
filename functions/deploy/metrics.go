package deploy

import (
	"fmt"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/functions/deploy/plan"
	"github.com/wharfhq/wharf/internal/promexp"
)

// counters are the function's metrics.
type counters struct {
	set                                    *metrics.Set
	created, steps, tasks, publishErrors   *metrics.Counter
	conflicts, applied, ignored, dropped   *metrics.Counter
	leasesTaken, heartbeats, rollbacksMade *metrics.Counter
	logLines                               *metrics.Counter
	ev                                     eventCounters
}

func newCounters(set *metrics.Set) *counters {
	c := func(name string) *metrics.Counter { return set.GetOrCreateCounter("wharf_deploy_" + name) }
	return &counters{
		set:           set,
		created:       c("created_total"),
		rollbacksMade: c("rollbacks_total"),
		steps:         c("steps_total"),
		tasks:         c("tasks_sent_total"),
		publishErrors: c("publish_errors_total"),
		conflicts:     c("cas_conflicts_total"),
		applied:       c(`events_total{result="applied"}`),
		ignored:       c(`events_total{result="ignored"}`),
		dropped:       c(`events_total{result="dropped"}`),
		leasesTaken:   c("leases_taken_total"),
		heartbeats:    c("heartbeats_total"),
		logLines:      c("log_lines_total"),
		ev:            newEventCounters(set),
	}
}

// finished counts a deploy that ended in state s and observes how long it
// ran (from its first step to its end).
func (c *counters) finished(s plan.State, took time.Duration) {
	c.set.GetOrCreateCounter(fmt.Sprintf(`wharf_deploy_finished_total{state=%q}`, s)).Inc()
	c.set.GetOrCreatePrometheusHistogramExt(fmt.Sprintf(`wharf_deploy_duration_seconds{state=%q}`, s), promexp.DurationBuckets()).Update(took.Seconds())
}

// MetricFamilies describes the deploy function's metric families.
func MetricFamilies() []promexp.Family {
	c := func(name, help string, labels ...string) promexp.Family {
		return promexp.Family{Name: name, Type: promexp.Counter, Help: help, Labels: labels}
	}
	return []promexp.Family{
		c("wharf_deploy_created_total", "Deploys created by a deploy request (rollbacks are counted apart)."),
		c("wharf_deploy_rollbacks_total", "Rollback deploys created."),
		c("wharf_deploy_steps_total", "Deploy steps started."),
		c("wharf_deploy_tasks_sent_total", "Tasks published to agents."),
		c("wharf_deploy_publish_errors_total", "Task publishes that failed (retried on the next tick)."),
		c("wharf_deploy_cas_conflicts_total", "Deploy record updates that lost a compare-and-swap race and were retried."),
		c("wharf_deploy_events_total", "Agent events received (result: applied, ignored, dropped).", "result"),
		c("wharf_deploy_leases_taken_total", "Deploy leases this process took to drive a deploy."),
		c("wharf_deploy_heartbeats_total", "Agent heartbeats received."),
		c("wharf_deploy_log_lines_total", "App log lines agents shipped and the function stored."),
		c("wharf_deploy_finished_total", "Deploys that ended, by final state (state: succeeded, failed, rolled_back, aborted, ...).", "state"),
		{Name: "wharf_deploy_duration_seconds", Type: promexp.Histogram, Labels: []string{"state"},
			Help: "Time from a deploy's first step to its end, by final state, in seconds."},
		c("wharf_deploy_events_unverified_total", "Unsigned events of hosts bound without a key (agents of the previous release), applied all the same."),
		c("wharf_deploy_events_refused_total", "Agent events refused (reason: unknown_host, unsigned, wrong_key, bad_signature).", "reason"),
	}
}
