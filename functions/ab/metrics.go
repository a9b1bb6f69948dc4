package ab

import (
	"sync/atomic"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/internal/promexp"
)

// fnMetrics are the A/B function's metrics (docs/metrics.md).
type fnMetrics struct {
	decisions   *metrics.Counter
	events      *metrics.Counter
	flushErrors *metrics.Counter
	// exposedUnits and exposedDropped count the exposure log (exposed.go).
	exposedUnits     *metrics.Counter
	exposedDropped   *metrics.Counter
	exposedUnchecked *metrics.Counter
	// exposedSkipped counts unit exposures not recorded (exposed.go).
	exposedSkipped *metrics.Counter
	running        atomic.Int64
}

// MetricFamilies describes the metrics the function exports.
func MetricFamilies() []promexp.Family {
	return []promexp.Family{
		{Name: "wharf_ab_decisions_total", Type: promexp.Counter, Help: "Decision requests this node answered (POST /fn/ab/decide and GET /fn/ab/decide/{experiment})."},
		{Name: "wharf_ab_events_total", Type: promexp.Counter, Help: "Metric events this node accepted on POST /fn/ab/track and published to the aggregator."},
		{Name: "wharf_ab_exposure_flush_errors_total", Type: promexp.Counter, Help: "Exposure flushes that failed (the counts are kept and added at the next flush)."},
		{Name: "wharf_ab_exposed_units_total", Type: promexp.Counter, Help: "Unit exposures (experiment, unit, variation) this node recorded and stored for results."},
		{Name: "wharf_ab_exposed_units_dropped_total", Type: promexp.Counter, Help: "Recorded unit exposures this node could not store for ten flush intervals and dropped (recorded again at the unit's next decision)."},
		{Name: "wharf_ab_exposures_unchecked_total", Type: promexp.Counter, Help: "Exposures this node did not check against its set of recorded units: the experiment's budget of new unit exposures of the flush interval was spent (the units are recorded at a later decision)."},
		{Name: "wharf_ab_exposed_units_skipped_total", Type: promexp.Counter, Help: "Unit exposures this node did not record: the unit is not a valid unit id (a hash attribute's value longer than 200 bytes or not UTF-8), the experiment's pending units were full, or its bucket version holds MaxStoredUnits."},
		{Name: "wharf_ab_running_experiments", Type: promexp.Gauge, Help: "Running experiments in this node's decision snapshot."},
	}
}

func newMetrics(set *metrics.Set) *fnMetrics {
	if set == nil {
		set = metrics.NewSet()
	}
	m := &fnMetrics{
		decisions:        set.GetOrCreateCounter("wharf_ab_decisions_total"),
		events:           set.GetOrCreateCounter("wharf_ab_events_total"),
		flushErrors:      set.GetOrCreateCounter("wharf_ab_exposure_flush_errors_total"),
		exposedUnits:     set.GetOrCreateCounter("wharf_ab_exposed_units_total"),
		exposedDropped:   set.GetOrCreateCounter("wharf_ab_exposed_units_dropped_total"),
		exposedUnchecked: set.GetOrCreateCounter("wharf_ab_exposures_unchecked_total"),
		exposedSkipped:   set.GetOrCreateCounter("wharf_ab_exposed_units_skipped_total"),
	}
	set.GetOrCreateGauge("wharf_ab_running_experiments", func() float64 { return float64(m.running.Load()) })
	return m
}
