package notify

import (
	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/promexp"
)

// counters are the notify runner's metrics.
type counters struct {
	events     map[string]*metrics.Counter // by topic
	deliveries map[string]*metrics.Counter // by result
	dead       *metrics.Counter
	// republished counts owed judge events the reconciler published again.
	republished *metrics.Counter
}

// delivery results counted in wharf_notify_deliveries_total.
const (
	resultSent      = "sent"
	resultFailed    = "failed"
	resultDead      = wire.ClaimDead
	resultSilenced  = wire.ClaimSilenced
	resultInhibited = wire.ClaimInhibited
	resultFolded    = wire.ClaimFolded
	// resultSuperseded: a firing step due after its case resolved.
	resultSuperseded = wire.ClaimSuperseded
)

func newCounters(set *metrics.Set, depth func() float64) *counters {
	set.GetOrCreateGauge("wharf_notify_queue_depth", depth)
	c := &counters{
		events:      map[string]*metrics.Counter{},
		deliveries:  map[string]*metrics.Counter{},
		dead:        set.GetOrCreateCounter("wharf_notify_dead_total"),
		republished: set.GetOrCreateCounter("wharf_notify_owed_republished_total"),
	}
	for _, t := range []string{topicAlarms, wire.PostedTopic} {
		c.events[t] = set.GetOrCreateCounter(`wharf_notify_events_total{topic="` + t + `"}`)
	}
	for _, r := range []string{resultSent, resultFailed, resultDead, resultSilenced, resultInhibited, resultFolded, resultSuperseded} {
		c.deliveries[r] = set.GetOrCreateCounter(`wharf_notify_deliveries_total{result="` + r + `"}`)
	}
	return c
}

func (c *counters) delivered(result string) {
	if m := c.deliveries[result]; m != nil {
		m.Inc()
	}
	if result == resultDead {
		c.dead.Inc()
	}
}

// MetricFamilies describes the notify runner's metric families.
func MetricFamilies() []promexp.Family {
	return []promexp.Family{
		{Name: "wharf_notify_events_total", Type: promexp.Counter, Help: "Messages the notify runner consumed (topic: alarms = judge events, alarms.posted = alerts posted to the Alertmanager API).", Labels: []string{"topic"}},
		{Name: "wharf_notify_deliveries_total", Type: promexp.Counter, Help: "Delivery attempts and outcomes of this node (result: sent, failed = retried later, dead = retry budget spent, silenced, inhibited, folded = into a storm digest, superseded = a firing step due after its case resolved, not sent).", Labels: []string{"result"}},
		{Name: "wharf_notify_dead_total", Type: promexp.Counter, Help: "Deliveries this node gave up after the retry budget (listed under monitor/alarms/dead/)."},
		{Name: "wharf_notify_owed_republished_total", Type: promexp.Counter, Help: "Judge events owed to notify for longer than notify.owed_after that this node's reconciler published again (nsqd lost them in flight, or notify was down)."},
		{Name: "wharf_notify_queue_depth", Type: promexp.Gauge, Help: "Deliveries waiting in all receiver queues at this node's last scan (due or not)."},
	}
}
