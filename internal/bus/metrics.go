package bus

import "github.com/wharfhq/wharf/internal/promexp"

// MetricFamilies describes the bus's metric families (consumers and outboxes).
func MetricFamilies() []promexp.Family {
	consumer := []string{"topic", "channel"}
	c := func(name, help string) promexp.Family {
		return promexp.Family{Name: name, Type: promexp.Counter, Help: help, Labels: consumer}
	}
	outbox := []string{"outbox"}
	return []promexp.Family{
		c("wharf_bus_consumer_processed_total", "Messages whose handler succeeded."),
		c("wharf_bus_consumer_failed_total", "Handler attempts that failed (errors and panics)."),
		c("wharf_bus_consumer_panics_total", "Handler attempts that panicked."),
		c("wharf_bus_consumer_requeued_total", "Messages handed back to nsqd for another attempt."),
		c("wharf_bus_consumer_dead_lettered_total", "Messages published to the dead-letter topic after their last attempt."),
		{Name: "wharf_bus_consumer_in_flight", Type: promexp.Gauge, Labels: consumer,
			Help: "Handlers of a consumer running now."},
		{Name: "wharf_bus_outbox_published_total", Type: promexp.Counter, Labels: outbox,
			Help: "Outbox messages nsqd acknowledged (and the outbox deleted)."},
		{Name: "wharf_bus_outbox_publish_errors_total", Type: promexp.Counter, Labels: outbox,
			Help: "Outbox publishes that failed (kept and retried)."},
		{Name: "wharf_bus_outbox_pending", Type: promexp.Gauge, Labels: outbox,
			Help: "Messages waiting in an outbox for nsqd."},
	}
}
