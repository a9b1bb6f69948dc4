package bus

import (
	"fmt"
	"sync/atomic"

	"github.com/VictoriaMetrics/metrics"
)

// ConsumerStats are a Consumer's counters since it was created.
type ConsumerStats struct {
	// Processed counts messages whose handler succeeded.
	Processed uint64
	// Failed counts handler errors and panics (one per failed attempt).
	Failed uint64
	// Panics counts the subset of Failed that were panics.
	Panics uint64
	// Requeued counts messages handed back to nsqd for another attempt.
	Requeued uint64
	// DeadLettered counts messages published to the dead-letter topic.
	DeadLettered uint64
	// InFlight is the number of handlers running now.
	InFlight int64
}

// consumerCounters keeps a Consumer's counters, mirrored into an optional
// metrics.Set as wharf_bus_consumer_*{topic,channel}.
type consumerCounters struct {
	processed, failed, panics, requeued, dead atomic.Uint64
	inFlight                                  atomic.Int64

	m struct {
		processed, failed, panics, requeued, dead *metrics.Counter
	}
}

func newConsumerCounters(set *metrics.Set, topic, channel string) *consumerCounters {
	c := &consumerCounters{}
	if set == nil {
		return c
	}
	name := func(what string) string {
		return fmt.Sprintf(`wharf_bus_consumer_%s_total{topic=%q,channel=%q}`, what, topic, channel)
	}
	c.m.processed = set.GetOrCreateCounter(name("processed"))
	c.m.failed = set.GetOrCreateCounter(name("failed"))
	c.m.panics = set.GetOrCreateCounter(name("panics"))
	c.m.requeued = set.GetOrCreateCounter(name("requeued"))
	c.m.dead = set.GetOrCreateCounter(name("dead_lettered"))
	set.GetOrCreateGauge(fmt.Sprintf(`wharf_bus_consumer_in_flight{topic=%q,channel=%q}`, topic, channel),
		func() float64 { return float64(c.inFlight.Load()) })
	return c
}

func inc(a *atomic.Uint64, m *metrics.Counter) {
	a.Add(1)
	if m != nil {
		m.Inc()
	}
}

func (c *consumerCounters) snapshot() ConsumerStats {
	return ConsumerStats{
		Processed:    c.processed.Load(),
		Failed:       c.failed.Load(),
		Panics:       c.panics.Load(),
		Requeued:     c.requeued.Load(),
		DeadLettered: c.dead.Load(),
		InFlight:     c.inFlight.Load(),
	}
}
