package judge

import (
	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/internal/promexp"
	"github.com/wharfhq/wharf/monitoring/event"
)

// counters are the judge's metrics.
type counters struct {
	points, publishFailures *metrics.Counter
	flushedStates           *metrics.Counter
	flushSeconds            *metrics.Histogram
	events                  map[event.Status]*metrics.Counter
}

func newCounters(set *metrics.Set, held func() float64) *counters {
	set.GetOrCreateGauge("wharf_judge_shards_held", held)
	c := &counters{
		points:          set.GetOrCreateCounter("wharf_judge_points_total"),
		publishFailures: set.GetOrCreateCounter("wharf_judge_publish_failures_total"),
		flushedStates:   set.GetOrCreateCounter("wharf_judge_flushed_states_total"),
		flushSeconds:    set.GetOrCreateHistogram("wharf_judge_flush_seconds"),
		events:          map[event.Status]*metrics.Counter{},
	}
	for _, s := range []event.Status{event.Problem, event.OK, event.NoData} {
		c.events[s] = set.GetOrCreateCounter(`wharf_judge_events_total{status="` + string(s) + `"}`)
	}
	return c
}

// published counts events just published (JSON bodies).
func (c *counters) published(ev event.Event) {
	if m := c.events[ev.Status]; m != nil {
		m.Inc()
	}
}

// MetricFamilies describes the judge's metric families.
func MetricFamilies() []promexp.Family {
	return []promexp.Family{
		{Name: "wharf_judge_points_total", Type: promexp.Counter, Help: "Points the judge received on the shards it holds (each judged by every matching strategy)."},
		{Name: "wharf_judge_events_total", Type: promexp.Counter, Help: "Alarm events the judge published to the alarms topic (status: PROBLEM, OK, NODATA).", Labels: []string{"status"}},
		{Name: "wharf_judge_publish_failures_total", Type: promexp.Counter, Help: "Publishes of alarm events nsqd did not acknowledge; the events wait in their state records and are retried."},
		{Name: "wharf_judge_flushed_states_total", Type: promexp.Counter, Help: "State records the judge wrote from its write-behind cache (one compare-and-swap round per flush)."},
		{Name: "wharf_judge_flush_seconds", Type: promexp.Histogram, Help: "Time to write one flush of cached judge states to the store."},
		{Name: "wharf_judge_shards_held", Type: promexp.Gauge, Help: "Judge shards this node holds a lease on."},
	}
}
