package gateway

import (
	"github.com/VictoriaMetrics/metrics"
)

type gatewayMetrics struct {
	byClass      [6]*metrics.Counter // 1xx..5xx, index 0 = other
	duration     *metrics.Histogram
	inflight     *metrics.Counter
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
	m := &gatewayMetrics{duration: set.NewHistogram(`wharf_gateway_request_duration_seconds`)}
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
