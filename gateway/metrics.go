package gateway

import (
	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/internal/promexp"
)

type gatewayMetrics struct {
	byClass      [6]*metrics.Counter // 1xx..5xx, index 0 = other
	duration     *metrics.PrometheusHistogram
	inflight     *metrics.Counter // exposed as a gauge (see MetricFamilies)
	denied       *metrics.Counter // refused by the global ACL
	banned       *metrics.Counter // refused by a global ban
	reloads      *metrics.Counter
	reloadErrors *metrics.Counter
	// registryRebuilds counts snapshots rebuilt for registry changes.
	registryRebuilds *metrics.Counter
	// bodyDrained counts early answers whose unread request body was
	// discarded to keep the connection; bodyUnread those that closed it.
	bodyDrained, bodyUnread *metrics.Counter
}

func newGatewayMetrics(set *metrics.Set) *gatewayMetrics {
	m := &gatewayMetrics{duration: set.NewPrometheusHistogramExt(`wharf_gateway_request_duration_seconds`, promexp.LatencyBuckets())}
	m.byClass[0] = set.NewCounter(`wharf_gateway_requests_total{code="other"}`)
	for i, c := range []string{"1xx", "2xx", "3xx", "4xx", "5xx"} {
		m.byClass[i+1] = set.NewCounter(`wharf_gateway_requests_total{code="` + c + `"}`)
	}
	m.inflight = set.NewCounter(`wharf_gateway_requests_in_flight`)
	m.denied = set.NewCounter(`wharf_gateway_denied_total`)
	m.banned = set.NewCounter(`wharf_gateway_banned_total`)
	m.reloads = set.NewCounter(`wharf_gateway_config_reloads_total`)
	m.reloadErrors = set.NewCounter(`wharf_gateway_config_reload_errors_total`)
	m.registryRebuilds = set.NewCounter(`wharf_gateway_registry_rebuilds_total`)
	m.bodyDrained = set.NewCounter(`wharf_gateway_unread_bodies_total{action="drained"}`)
	m.bodyUnread = set.NewCounter(`wharf_gateway_unread_bodies_total{action="closed"}`)
	return m
}

func (m *gatewayMetrics) observe(status int, seconds float64) {
	m.byClass[statusClass(status)].Inc()
	m.duration.Update(seconds)
}

// statusClass indexes the by-class counters: 1..5 for 1xx..5xx, 0 otherwise.
func statusClass(status int) int {
	if class := status / 100; class >= 1 && class <= 5 {
		return class
	}
	return 0
}

// MetricFamilies describes the gateway's metric families (HELP, TYPE and
// labels on /metrics, and docs/metrics.md).
func MetricFamilies() []promexp.Family {
	route := []string{"route", "service"}
	return []promexp.Family{
		{Name: "wharf_gateway_requests_total", Type: promexp.Counter, Labels: []string{"code"},
			Help: "Requests the gateway answered, by status class (code: 1xx, 2xx, 3xx, 4xx, 5xx, other)."},
		{Name: "wharf_gateway_request_duration_seconds", Type: promexp.Histogram,
			Help: "Time from reading a request to writing its answer, in seconds."},
		{Name: "wharf_gateway_requests_in_flight", Type: promexp.Gauge,
			Help: "Requests the gateway is handling now."},
		{Name: "wharf_gateway_denied_total", Type: promexp.Counter,
			Help: "Requests refused by the global ACL (deny list or not on the allow list)."},
		{Name: "wharf_gateway_banned_total", Type: promexp.Counter,
			Help: "Requests refused because their client IP is banned globally."},
		{Name: "wharf_gateway_config_reloads_total", Type: promexp.Counter,
			Help: "Edge configurations compiled and swapped in."},
		{Name: "wharf_gateway_config_reload_errors_total", Type: promexp.Counter,
			Help: "Edge config compiles (new versions and rebuilds) that failed; the previous snapshot kept serving."},
		{Name: "wharf_gateway_registry_rebuilds_total", Type: promexp.Counter,
			Help: "Snapshots of the current edge config rebuilt because registered instances changed."},
		{Name: "wharf_gateway_unread_bodies_total", Type: promexp.Counter, Labels: []string{"action"},
			Help: "Early answers that left a request body unread, by what happened to the connection (action: drained, closed)."},
		{Name: "wharf_gateway_route_requests_total", Type: promexp.Counter, Labels: []string{"route", "service", "code"},
			Help: "Requests a route answered, by status class (code: 1xx..5xx, other)."},
		{Name: "wharf_gateway_route_request_duration_seconds", Type: promexp.Histogram, Labels: route,
			Help: "Time from reading a request to writing its answer on a route, in seconds."},
		{Name: "wharf_gateway_route_denied_total", Type: promexp.Counter, Labels: route,
			Help: "Requests refused by a route's ACL."},
		{Name: "wharf_gateway_route_banned_total", Type: promexp.Counter, Labels: route,
			Help: "Requests refused on a route because their client IP is banned."},
		{Name: "wharf_gateway_route_limited_total", Type: promexp.Counter, Labels: route,
			Help: "Requests rejected by a route's rate or concurrency limit."},
		{Name: "wharf_gateway_route_delayed_total", Type: promexp.Counter, Labels: route,
			Help: "Requests a route's rate limit delayed (burst with delay)."},
		{Name: "wharf_gateway_route_limit_dry_run_total", Type: promexp.Counter, Labels: route,
			Help: "Requests a dry-run limit would have rejected or delayed."},
		{Name: "wharf_gateway_route_upstream_errors_total", Type: promexp.Counter, Labels: route,
			Help: "Requests on a route that failed upstream (502 or 504 from the proxy)."},
		{Name: "wharf_gateway_room_failover_events_total", Type: promexp.Counter, Labels: []string{"service", "kind"},
			Help: "Room failover events of a service (kind: degraded, spill, recovered, panic, panic_over)."},
	}
}
