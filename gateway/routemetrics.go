package gateway

import (
	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/internal/promexp"
)

// routeMetrics are one route's counters, created once per route name and
// reused by every snapshot (metrics.Set.GetOrCreate*), so a reload keeps them.
type routeMetrics struct {
	byClass  [6]*metrics.Counter // index 0 = other, 1..5 = 1xx..5xx
	denied   *metrics.Counter    // ACL: denied or not on the allow list
	banned   *metrics.Counter
	limited  *metrics.Counter // rejected by a rate or concurrency limit
	delayed  *metrics.Counter
	dryRun   *metrics.Counter // REJECTED_DRY_RUN or DELAYED_DRY_RUN
	upstream *metrics.Counter // upstream failures (502/504 from the proxy)
	duration *metrics.PrometheusHistogram
}

func newRouteMetrics(set *metrics.Set, route, service string) *routeMetrics {
	l := `route="` + route + `"`
	if service != "" {
		l += `,service="` + service + `"`
	}
	m := &routeMetrics{
		denied:   set.GetOrCreateCounter(`wharf_gateway_route_denied_total{` + l + `}`),
		banned:   set.GetOrCreateCounter(`wharf_gateway_route_banned_total{` + l + `}`),
		limited:  set.GetOrCreateCounter(`wharf_gateway_route_limited_total{` + l + `}`),
		delayed:  set.GetOrCreateCounter(`wharf_gateway_route_delayed_total{` + l + `}`),
		dryRun:   set.GetOrCreateCounter(`wharf_gateway_route_limit_dry_run_total{` + l + `}`),
		upstream: set.GetOrCreateCounter(`wharf_gateway_route_upstream_errors_total{` + l + `}`),
		duration: set.GetOrCreatePrometheusHistogramExt(`wharf_gateway_route_request_duration_seconds{`+l+`}`, promexp.LatencyBuckets()),
	}
	m.byClass[0] = set.GetOrCreateCounter(`wharf_gateway_route_requests_total{` + l + `,code="other"}`)
	for i, c := range []string{"1xx", "2xx", "3xx", "4xx", "5xx"} {
		m.byClass[i+1] = set.GetOrCreateCounter(`wharf_gateway_route_requests_total{` + l + `,code="` + c + `"}`)
	}
	return m
}

func (m *routeMetrics) observe(status int, seconds float64) {
	m.byClass[statusClass(status)].Inc()
	m.duration.Update(seconds)
}

// RouteStats are one route's live counters.
type RouteStats struct {
	Requests       map[string]uint64 `json:"requests"`
	Denied         uint64            `json:"denied"`
	Banned         uint64            `json:"banned"`
	Limited        uint64            `json:"limited"`
	Delayed        uint64            `json:"delayed"`
	DryRun         uint64            `json:"limit_dry_run"`
	UpstreamErrors uint64            `json:"upstream_errors"`
}

func (m *routeMetrics) stats() RouteStats {
	s := RouteStats{
		Requests: map[string]uint64{},
		Denied:   m.denied.Get(), Banned: m.banned.Get(), Limited: m.limited.Get(),
		Delayed: m.delayed.Get(), DryRun: m.dryRun.Get(), UpstreamErrors: m.upstream.Get(),
	}
	for i, c := range []string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"} {
		if n := m.byClass[i].Get(); n > 0 {
			s.Requests[c] = n
		}
	}
	return s
}
