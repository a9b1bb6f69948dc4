package gateway

import (
	"testing"

	"github.com/VictoriaMetrics/metrics"
)

// Recording a request's status and latency, per gateway and per route, is on
// the request path: it allocates nothing.
func TestObserveAllocatesNothing(t *testing.T) {
	set := metrics.NewSet()
	g := newGatewayMetrics(set)
	r := newRouteMetrics(set, "shop", "shop")
	status := 200
	if n := testing.AllocsPerRun(1000, func() {
		g.observe(status, 0.003)
		r.observe(status, 0.003)
		status = (status + 100) % 700
	}); n != 0 {
		t.Fatalf("observe allocates %v times per request", n)
	}
}
