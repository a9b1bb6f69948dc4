package monitor

import (
	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/internal/promexp"
)

// counters are the monitor function's metrics.
type counters struct {
	received, invalid, published *metrics.Counter
	rejectedBusy, rejectedBus    *metrics.Counter
	rejectedBacklog              *metrics.Counter
	set                          *metrics.Set
}

// forwarded counts the queries (route: query or series) forwarded to a
// shard's owner, by result (ok or error).
func (c *counters) forwarded(route, result string) *metrics.Counter {
	return c.set.GetOrCreateCounter(`wharf_monitor_forwarded_queries_total{route="` + route + `",result="` + result + `"}`)
}

func newCounters(set *metrics.Set, queued func() float64) *counters {
	c := func(name string) *metrics.Counter { return set.GetOrCreateCounter("wharf_monitor_" + name) }
	set.GetOrCreateGauge("wharf_monitor_points_queued", queued)
	return &counters{
		received:     c("points_received_total"),
		invalid:      c("points_invalid_total"),
		published:    c("points_published_total"),
		rejectedBusy: c(`push_rejected_total{reason="busy"}`),
		rejectedBus:  c(`push_rejected_total{reason="bus"}`),
		set:          set,
		// backlog.go
		rejectedBacklog: c(`push_rejected_total{reason="backlog"}`),
	}
}

// writerCounters count what the series writer did with its points, and
// the fsyncs of its stores' logs it waited for.
type writerCounters struct{ accepted, stale, skipped, rejected, overLimit, noSpace, syncs *metrics.Counter }

func newWriterCounters(set *metrics.Set) writerCounters {
	c := func(result string) *metrics.Counter {
		return set.GetOrCreateCounter(`wharf_monitor_series_points_total{result="` + result + `"}`)
	}
	return writerCounters{accepted: c("accepted"), stale: c("stale"), skipped: c("skipped"), rejected: c("rejected"), overLimit: c("over_limit"), noSpace: c("no_space"),
		syncs: set.GetOrCreateCounter("wharf_monitor_series_syncs_total")}
}

// MetricFamilies describes the monitor function's metric families.
func MetricFamilies() []promexp.Family {
	c := func(name, help string, labels ...string) promexp.Family {
		return promexp.Family{Name: name, Type: promexp.Counter, Help: help, Labels: labels}
	}
	return []promexp.Family{
		c("wharf_monitor_points_received_total", "Items received by POST /v1/push and /api/v1/metrics/push, valid or not."),
		c("wharf_monitor_points_invalid_total", "Pushed items refused by Falcon's validation rules (counted, not stored)."),
		c("wharf_monitor_points_published_total", "Valid points published to NSQ (each once, for the series store and the judge)."),
		{Name: "wharf_monitor_points_queued", Type: promexp.Gauge, Help: "Valid points of pushes in progress, not yet acknowledged by nsqd."},
		c("wharf_monitor_push_rejected_total", "Pushes answered 503 with Retry-After (reason: busy = too many points queued, bus = nsqd did not take them, backlog = the series writer or judge is more than monitoring.max_backlog points behind).", "reason"),
		{Name: "wharf_monitor_series_disk_low", Type: promexp.Gauge, Help: "1 while the series dir's free space is below monitoring.min_free_disk (series writes paused, points wait in NSQ), else 0."},
		{Name: "wharf_monitor_series_disk_free_bytes", Type: promexp.Gauge, Help: "Free bytes on the series dir's filesystem, as last measured by the free-disk guard."},
		{Name: "wharf_monitor_backlog_points", Type: promexp.Gauge, Labels: []string{"channel"}, Help: "Points waiting in nsqd for a consumer channel (series or judge; queued, in flight or deferred, summed over shards and nsqds; estimated from the batch size), as of the last stats poll."},
		c("wharf_monitor_backlog_stats_errors_total", "Polls of the nsqd (or nsqlookupd) stats that failed; pushes are accepted without a backlog check (fail open) until a poll succeeds."),
		c("wharf_monitor_series_points_total", "Points the series writer applied to its stores (result: accepted, stale = not newer than the series, skipped = value Falcon skips, rejected = step or type disagrees, over_limit = would create a series past monitoring.max_series, no_space = would create a series the disk had no room for).", "result"),
		c("wharf_monitor_series_syncs_total", "Fsyncs of the series stores' write-ahead logs the series writer acknowledged batches after (group fsync: at most one per shard every monitoring.series_sync_interval)."),
		{Name: "wharf_monitor_shards_owned", Type: promexp.Gauge, Help: "Series shards this node stores now (all of them in serve; its lease share on a wharf functions node)."},
		c("wharf_monitor_shard_lease_changes_total", "Series shard leases this node took, released (handed to a node that joined), stopped (released on shutdown) or lost (not renewed: another holder or the store cut off).", "change"),
		c("wharf_monitor_forwarded_queries_total", "Queries of series shards stored on another node forwarded to their owner (route: query or series; result: ok or error, answered 503).", "route", "result"),
	}
}
