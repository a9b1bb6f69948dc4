package deploy_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/deploy"
	"github.com/wharfhq/wharf/functions/deploy/plan"
)

// badTraffic is a GateSource that measures a 40% error rate.
type badTraffic struct {
	mu      sync.Mutex
	windows []plan.Window
}

func (g *badTraffic) Sample(_ context.Context, app, version string, w plan.Window) (plan.GateSample, bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if app != "shop" || version != "1.0.0" {
		return plan.GateSample{}, false, nil
	}
	g.windows = append(g.windows, w)
	return plan.GateSample{Requests: 500, ErrorRate: 0.4}, true, nil
}

// TestHealthGate: with a gate source, a step whose error rate is above
// health.error_rate_max after its window fails the deploy.
func TestHealthGate(t *testing.T) {
	gate := &badTraffic{}
	e := newEnv(t, envOptions{redis: true, run: true, opts: func(o *deploy.Options) { o.Gate = gate }})
	e.push("shop", "1.0.0")
	e.startAgent("h1", "bj", healthy)
	d := e.deploy(`{"version":"1.0.0","targets":{"hosts":["h1"]},"health":{"error_rate_max":0.05,"window":"5s"}}`)
	v := e.waitState(d.ID, 15*time.Second, plan.StateFailed)
	g := v.Steps[0].Gate
	if g == nil || g.Passed || g.Requests != 500 || !strings.Contains(v.Error, "health gate") {
		t.Fatalf("gate %+v, error %q", g, v.Error)
	}
	gate.mu.Lock()
	defer gate.mu.Unlock()
	if len(gate.windows) == 0 || gate.windows[0].Step != 0 || gate.windows[0].To.Sub(gate.windows[0].From) != 5*time.Second {
		t.Fatalf("windows %+v", gate.windows)
	}
}
