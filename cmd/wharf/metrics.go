package main

import (
	"github.com/wharfhq/wharf/functions/ab"
	"github.com/wharfhq/wharf/functions/config"
	"github.com/wharfhq/wharf/functions/deploy"
	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/ratelimit/cluster"
	"github.com/wharfhq/wharf/gateway/tlsconf"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/feed"
	"github.com/wharfhq/wharf/internal/promexp"
	"github.com/wharfhq/wharf/runner/abagg"
	"github.com/wharfhq/wharf/runner/agent"
	"github.com/wharfhq/wharf/runner/judge"
	"github.com/wharfhq/wharf/runner/notify"
)

// metricFamilies are the families any wharf role may expose on /metrics:
// each component's, the build info and the Go runtime's. A component that
// adds a metric describes it in its MetricFamilies; the e2e tests fail on a
// family that is missing here, and docs/metrics.md lists them all.
func metricFamilies() [][]promexp.Family {
	return [][]promexp.Family{
		{{Name: "wharf_build_info", Type: promexp.Gauge, Labels: []string{"version", "role"},
			Help: "Always 1; its labels say which version of wharf runs in which role."}},
		gateway.MetricFamilies(),
		tlsconf.MetricFamilies(),
		cluster.MetricFamilies(),
		deploy.MetricFamilies(),
		config.MetricFamilies(),
		monitor.MetricFamilies(),
		judge.MetricFamilies(),
		notify.MetricFamilies(),
		ab.MetricFamilies(),
		abagg.MetricFamilies(),
		feed.MetricFamilies(),
		agent.MetricFamilies(),
		bus.MetricFamilies(),
		promexp.RuntimeFamilies(),
	}
}
