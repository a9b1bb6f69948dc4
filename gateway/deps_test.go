package gateway_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestDepsAreTheOnesPassedIn: the edge store and ban manager a process
// builds once (NewDeps) are the ones the gateway follows: a config
// change and a ban made through them reach its requests; Deps without a
// Store or with a part missing are refused with a clear error.
func TestDepsAreTheOnesPassedIn(t *testing.T) {
	st := memStore(t)
	deps, err := gateway.NewDeps(st, gateway.DepsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := config.Edge{Routes: []config.RouteConfig{fnRoute("api", "/api/")}}
	if _, err := deps.Edge.Seed(context.Background(), e, "test"); err != nil {
		t.Fatal(err)
	}
	g := gatewaytest.Start(t, gateway.Options{Store: st, Deps: &deps, Edge: e}, echoFunctions{})
	addr := g.Addr().String()
	if r := gatewaytest.Do(t, addr, "GET", "/api/x", nil, ""); r.Status != 200 {
		t.Fatalf("status %d", r.Status)
	}
	if _, err := deps.Edge.Update(context.Background(), "test", "add route", func(e *config.Edge) error {
		e.Routes = append(e.Routes, config.RouteConfig{Name: "v2", Path: "/api/v2/", Function: "api", ACL: config.ACLConfig{Deny: []string{"127.0.0.1/32"}}})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		if r := gatewaytest.Do(t, addr, "GET", "/api/v2/x", nil, ""); r.Status != 403 {
			return errorf("the new route is not served yet: %d", r.Status)
		}
		return nil
	})
	if _, err := deps.BanManager.Ban(context.Background(), netip.MustParsePrefix("127.0.0.1/32"), time.Minute, "test", "test"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		if r := gatewaytest.Do(t, addr, "GET", "/api/x", nil, ""); r.Status != 403 {
			return errorf("status %d, want 403 (banned)", r.Status)
		}
		return nil
	})

	for name, opts := range map[string]gateway.Options{
		"no store":   {Listen: "127.0.0.1:0", Deps: &deps},
		"incomplete": {Listen: "127.0.0.1:0", Store: st, Deps: &gateway.Deps{Edge: deps.Edge}},
	} {
		if _, err := gateway.New(opts, echoFunctions{}); err == nil || !strings.Contains(err.Error(), "Deps") {
			t.Errorf("%s: %v, want an error naming Deps", name, err)
		}
	}
}
