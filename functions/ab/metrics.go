package ab

import (
	"sync/atomic"

	"github.com/VictoriaMetrics/metrics"
)

// fnMetrics are the A/B function's metrics (docs/metrics.md).
type fnMetrics struct {
	decisions   *metrics.Counter
	events      *metrics.Counter
	flushErrors *metrics.Counter
	running     atomic.Int64
}

// MetricFamilies are the names of the metrics the function exports.
func MetricFamilies() []string {
	return []string{"wharf_ab_decisions_total", "wharf_ab_events_total", "wharf_ab_exposure_flush_errors_total", "wharf_ab_running_experiments"}
}

func newMetrics(set *metrics.Set) *fnMetrics {
	if set == nil {
		set = metrics.NewSet()
	}
	m := &fnMetrics{
		decisions:   set.GetOrCreateCounter("wharf_ab_decisions_total"),
		events:      set.GetOrCreateCounter("wharf_ab_events_total"),
		flushErrors: set.GetOrCreateCounter("wharf_ab_exposure_flush_errors_total"),
	}
	set.GetOrCreateGauge("wharf_ab_running_experiments", func() float64 { return float64(m.running.Load()) })
	return m
}
