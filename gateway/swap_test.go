package gateway_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/testenv"
)

// someFunctions serves like echoFunctions but knows only the function "api",
// so a route to another one passes validation and fails to compile.
type someFunctions struct{ echoFunctions }

func (someFunctions) HasFunction(name string) bool { return name == "api" }

// TestFailedCompileLeavesEverythingServing: a config version that fails
// to compile mid-way — after its changed limit zone, health checker and
// auto-ban tracker would have been built — changes nothing: traffic,
// limit budgets, health checks and auto bans go on as before, and no
// goroutine is left behind. It failed before: the compile stopped the
// live health checker and auto-ban tracker while building their
// replacements, so after the failed version an instance going unhealthy
// still got traffic and a client over its limit was never banned.
func TestFailedCompileLeavesEverythingServing(t *testing.T) {
	good, flaky := startUpstream(t, "good"), startUpstream(t, "flaky")
	check := &config.HealthConfig{Path: "/healthz", Interval: config.Duration(100 * time.Millisecond), Timeout: config.Duration(time.Second), Healthy: 1, Unhealthy: 1}
	v1 := config.Edge{
		Limits: []config.LimitConfig{{Name: "per_ip", Key: "ip", Rate: "2r/m", NoDelay: true}},
		Services: []config.ServiceConfig{{Name: "shop", Health: check,
			Instances: []config.InstanceConfig{{Addr: good.addr}, {Addr: flaky.addr}}}},
		Routes: []config.RouteConfig{
			{Name: "shop", Path: "/shop/", Service: "shop"},
			{Name: "api", Path: "/api/", Function: "api", Limits: []string{"per_ip"},
				AutoBan: &config.AutoBanConfig{After: 2, Within: config.Duration(time.Minute), For: config.Duration(10 * time.Minute)}},
		},
	}
	n := startEdgeWith(t, v1, true, someFunctions{})
	testenv.Eventually(t, 5*time.Second, func() error {
		if v := n.g.ConfigVersion(); v < 1 {
			return errorf("stored config not applied yet (version %d)", v)
		}
		return nil
	})
	// Client A uses its whole budget (burst 0: one request a 30 s).
	if r := n.get(t, "/api/x", "198.51.100.1"); r.Status != 200 {
		t.Fatalf("first request: %d", r.Status)
	}
	served := func() map[string]int {
		seen := map[string]int{}
		for i := 0; i < 6; i++ {
			r := n.get(t, "/shop/x", "198.51.100.9")
			if r.Status != 200 {
				t.Fatalf("shop: %d %s", r.Status, r.Body)
			}
			seen[strings.Fields(r.String())[0]]++
		}
		return seen
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		if s := served(); s["good"] == 0 || s["flaky"] == 0 {
			return errorf("both instances do not get traffic yet: %v", s)
		}
		return nil
	})
	before := gatewayGoroutines()

	// v2 changes the zone's rate, the health check and the auto-ban rule,
	// then fails on its last route.
	n.update(t, func(e *config.Edge) {
		e.Limits[0].Rate = "60r/m"
		h := *e.Services[0].Health
		h.Interval = config.Duration(time.Hour)
		e.Services[0].Health = &h
		e.Routes[1].AutoBan.After = 50
		e.Routes = append(e.Routes, config.RouteConfig{Name: "broken", Path: "/broken/", Function: "nope"})
	})
	testenv.Eventually(t, 5*time.Second, func() error {
		if s := n.g.Stats().(gateway.Stats); s.ReloadErrors == 0 {
			return errorf("the broken version was not tried yet")
		}
		return nil
	})
	if v := n.g.ConfigVersion(); v != 1 {
		t.Fatalf("serving version %d after a failed compile, want 1", v)
	}
	if r := n.get(t, "/broken/x", "198.51.100.9"); r.Status != 404 {
		t.Fatalf("the failed version's route serves: %d", r.Status)
	}
	// Limits: A's budget is still spent (the old rate, the old state).
	if r := n.get(t, "/api/x", "198.51.100.1"); r.Status != 429 {
		t.Fatalf("client A after the failed compile: %d, want 429", r.Status)
	}
	// Health: the live checker still runs; the instance that turns
	// unhealthy stops getting traffic.
	flaky.unhealthy.Store(true)
	testenv.Eventually(t, 5*time.Second, func() error {
		if s := served(); s["flaky"] > 0 {
			return errorf("the unhealthy instance still gets traffic: %v", s)
		}
		return nil
	})
	// Bans: the live tracker (After 2) still bans a client limited twice
	// (the 429 above was the first time).
	if r := n.get(t, "/api/x", "198.51.100.1"); r.Status != 429 {
		t.Fatalf("second limited request: %d", r.Status)
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		bans, err := n.bans.List(context.Background())
		if err != nil {
			return err
		}
		for _, b := range bans {
			if b.Prefix == netip.MustParsePrefix("198.51.100.1/32") && b.Auto {
				return nil
			}
		}
		return errorf("client A not auto-banned: %v", bans)
	})
	// No goroutine was started by the failed compile.
	testenv.Eventually(t, 5*time.Second, func() error {
		if extra := newGoroutines(before, gatewayGoroutines()); len(extra) > 0 {
			return errorf("goroutines left by the failed compile:\n%s", strings.Join(extra, "\n\n"))
		}
		return nil
	})
	// The next good version takes over (the broken route removed).
	n.update(t, func(e *config.Edge) { e.Routes = e.Routes[:2] })
	testenv.Eventually(t, 5*time.Second, func() error {
		if v := n.g.ConfigVersion(); v != 3 {
			return errorf("version %d", v)
		}
		return nil
	})
}

// TestShutdownStopsEveryGoroutine: after Shutdown, no goroutine the
// gateway started is left: store followers, the registry expiry timer,
// health checkers, auto-ban trackers, room and sweep tickers.
func TestShutdownStopsEveryGoroutine(t *testing.T) {
	up := startUpstream(t, "up")
	before := gatewayGoroutines()
	n := startEdgeNoCleanup(t, config.Edge{
		Limits:   []config.LimitConfig{{Name: "per_ip", Key: "ip", Rate: "1r/m", NoDelay: true}},
		Services: []config.ServiceConfig{{Name: "shop", Health: &config.HealthConfig{Path: "/healthz", Interval: config.Duration(100 * time.Millisecond)}, Instances: []config.InstanceConfig{{Addr: up.addr}}}},
		Routes: []config.RouteConfig{
			{Name: "shop", Path: "/shop/", Service: "shop"},
			{Name: "api", Path: "/api/", Function: "api", Limits: []string{"per_ip"},
				AutoBan: &config.AutoBanConfig{After: 1, Within: config.Duration(time.Minute), For: config.Duration(time.Minute)}},
		},
	})
	for _, p := range []string{"/shop/x", "/api/x", "/api/x"} {
		gatewaytest.Do(t, n.addr, "GET", p, nil, "")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.g.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-n.done; err != nil {
		t.Fatal(err)
	}
	// Shutdown has waited for every goroutine to finish; one may still be
	// between its last deferred call and its exit.
	testenv.Eventually(t, 2*time.Second, func() error {
		if extra := newGoroutines(before, gatewayGoroutines()); len(extra) > 0 {
			return errorf("goroutines left after Shutdown:\n%s", strings.Join(extra, "\n\n"))
		}
		return nil
	})
}

// runningEdge is a gateway over an in-memory store that the test shuts down.
type runningEdge struct {
	g    *gateway.Gateway
	addr string
	done chan error
}

func startEdgeNoCleanup(t *testing.T, e config.Edge) *runningEdge {
	t.Helper()
	st := memStore(t)
	g, err := gateway.New(gateway.Options{Listen: "127.0.0.1:0", Store: st, Edge: e}, echoFunctions{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.Run() }()
	// Serving: a request is answered (and the health checker has run).
	testenv.Eventually(t, 5*time.Second, func() error {
		if r := gatewaytest.Do(t, g.Addr().String(), "GET", "/shop/x", nil, ""); r.Status != fasthttp.StatusOK {
			return errorf("status %d", r.Status)
		}
		return nil
	})
	return &runningEdge{g: g, addr: g.Addr().String(), done: done}
}
