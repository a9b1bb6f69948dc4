package feed

import (
	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/internal/promexp"
)

// counters count one source's pushes.
type counters struct {
	ok, failed, points *metrics.Counter
}

func newCounters(set *metrics.Set, source string) *counters {
	if set == nil {
		set = metrics.NewSet()
	}
	l := `source="` + source + `"`
	return &counters{
		ok:     set.GetOrCreateCounter(`wharf_feed_pushes_total{` + l + `,result="ok"}`),
		failed: set.GetOrCreateCounter(`wharf_feed_pushes_total{` + l + `,result="error"}`),
		points: set.GetOrCreateCounter(`wharf_feed_points_total{` + l + `}`),
	}
}

// MetricFamilies describes the self feed's metric families.
func MetricFamilies() []promexp.Family {
	return []promexp.Family{
		{Name: "wharf_feed_pushes_total", Type: promexp.Counter, Labels: []string{"source", "result"},
			Help: "Pushes of this node's own metrics to the monitor (source: gateway or agent; result: ok or error, logged)."},
		{Name: "wharf_feed_points_total", Type: promexp.Counter, Labels: []string{"source"},
			Help: "Points of this node's own metrics taken by the monitor."},
	}
}
