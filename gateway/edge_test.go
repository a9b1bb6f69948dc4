package gateway_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/acl"
	"github.com/wharfhq/wharf/gateway/edge"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/buntstore"
	"github.com/wharfhq/wharf/internal/testenv"
)

// edgeNode is a gateway over an in-memory store, with the edge document and
// bans managed the way the admin API does it.
type edgeNode struct {
	store store.Store
	g     *gateway.Gateway
	edge  *edge.Store
	bans  *acl.BanManager
	addr  string
	trust bool
}

func startEdge(t *testing.T, e config.Edge, trustLoopback bool) *edgeNode {
	t.Helper()
	return startEdgeWith(t, e, trustLoopback, echoFunctions{})
}

// startEdgeWith is startEdge over the given functions.
func startEdgeWith(t *testing.T, e config.Edge, trustLoopback bool, fns gateway.Functions) *edgeNode {
	t.Helper()
	return startEdgeTuned(t, e, trustLoopback, fns, nil)
}

// startEdgeTuned is startEdgeWith with tune (when not nil) applied to the
// gateway's options before it starts.
func startEdgeTuned(t *testing.T, e config.Edge, trustLoopback bool, fns gateway.Functions, tune func(*gateway.Options)) *edgeNode {
	t.Helper()
	st, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	es := edge.New(st, edge.Options{})
	if _, err := es.Seed(context.Background(), e, "test"); err != nil {
		t.Fatal(err)
	}
	bm, err := acl.NewBanManager(acl.BanManagerOptions{}, st)
	if err != nil {
		t.Fatal(err)
	}
	opts := gateway.Options{Store: st, Edge: e}
	if trustLoopback {
		opts.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	}
	if tune != nil {
		tune(&opts)
	}
	g := gatewaytest.Start(t, opts, fns)
	return &edgeNode{store: st, g: g, edge: es, bans: bm, addr: g.Addr().String(), trust: trustLoopback}
}

// get sends a GET as client ip (through X-Forwarded-For, which only counts
// when loopback is trusted).
func (n *edgeNode) get(t *testing.T, path, ip string) gatewaytest.Response {
	t.Helper()
	return gatewaytest.Do(t, n.addr, "GET", path, map[string]string{"X-Forwarded-For": ip}, "")
}

func (n *edgeNode) update(t *testing.T, fn func(e *config.Edge)) int64 {
	t.Helper()
	d, err := n.edge.Update(context.Background(), "test", "change", func(e *config.Edge) error { fn(e); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return d.Version
}

func fnRoute(name, path string, limits ...string) config.RouteConfig {
	return config.RouteConfig{Name: name, Path: path, Function: "api", Limits: limits}
}

func TestGlobalDenyListAndRouteAllowList(t *testing.T) {
	n := startEdge(t, config.Edge{
		ACL: config.ACLConfig{Deny: []string{"203.0.113.0/24", "2001:db8:bad::/48"}},
		Routes: []config.RouteConfig{
			fnRoute("api", "/api/"),
			{Name: "internal", Path: "/api/internal/", Function: "api", ACL: config.ACLConfig{Allow: []string{"10.0.0.0/8"}}},
		},
	}, true)
	for ip, want := range map[string]int{"203.0.113.9": 403, "2001:db8:bad::1": 403, "::ffff:203.0.113.9": 403, "198.51.100.1": 200} {
		if got := n.get(t, "/api/x", ip).Status; got != want {
			t.Errorf("%s: got %d, want %d", ip, got, want)
		}
	}
	if r := n.get(t, "/api/internal/x", "198.51.100.1"); r.Status != 403 || !strings.Contains(r.String(), `"error"`) {
		t.Fatalf("not on the route's allow list: %d %s", r.Status, r.Body)
	}
	if r := n.get(t, "/api/internal/x", "10.1.2.3"); r.Status != 200 {
		t.Fatalf("on the allow list: %d", r.Status)
	}
}

func TestConfigChangeReachesTheGatewayWithinASecond(t *testing.T) {
	n := startEdge(t, config.Edge{Routes: []config.RouteConfig{fnRoute("api", "/api/")}}, true)
	if r := n.get(t, "/api/x", "198.51.100.7"); r.Status != 200 {
		t.Fatalf("%d", r.Status)
	}
	start := time.Now()
	v := n.update(t, func(e *config.Edge) { e.ACL.Deny = []string{"198.51.100.0/24"} })
	testenv.Eventually(t, time.Second, func() error {
		if n.g.ConfigVersion() < v {
			return errorf("version %d not applied yet", v)
		}
		return nil
	})
	t.Logf("config version %d applied after %s", v, time.Since(start))
	if r := n.get(t, "/api/x", "198.51.100.7"); r.Status != 403 {
		t.Fatalf("deny list not applied: %d", r.Status)
	}
	// A change that does not compile is refused by validation before it is stored.
	if _, err := n.edge.Update(context.Background(), "test", "bad", func(e *config.Edge) error {
		e.Routes[0].Limits = []string{"missing"}
		return nil
	}); err == nil {
		t.Fatal("a route naming an unknown limit must be refused")
	}
}

func TestBanAppliesEverywhereWithinASecondAndLifts(t *testing.T) {
	n := startEdge(t, config.Edge{Routes: []config.RouteConfig{fnRoute("api", "/api/")}}, true)
	ctx := context.Background()
	if _, err := n.bans.Ban(ctx, netip.MustParsePrefix("192.0.2.7/32"), 10*time.Minute, "scraping", "test"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Second, func() error {
		if r := n.get(t, "/api/x", "192.0.2.7"); r.Status != 403 {
			return errorf("status %d", r.Status)
		}
		return nil
	})
	if r := n.get(t, "/api/x", "192.0.2.8"); r.Status != 200 {
		t.Fatalf("neighbour banned too: %d", r.Status)
	}
	if err := n.bans.Unban(ctx, netip.MustParsePrefix("192.0.2.7/32")); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Second, func() error {
		if r := n.get(t, "/api/x", "192.0.2.7"); r.Status != 200 {
			return errorf("status %d", r.Status)
		}
		return nil
	})
}

func TestSpoofedForwardedForIsLimitedAndBannedByRealAddress(t *testing.T) {
	n := startEdge(t, config.Edge{
		Limits: []config.LimitConfig{{Name: "per_ip", Key: "ip", Rate: "1r/m", NoDelay: true}},
		Routes: []config.RouteConfig{{Name: "api", Path: "/api/", Function: "api", Limits: []string{"per_ip"},
			AutoBan: &config.AutoBanConfig{After: 2, Within: config.Duration(time.Minute), For: config.Duration(10 * time.Minute)}}},
	}, false) // loopback is NOT a trusted proxy: X-Forwarded-For must be ignored
	if r := n.get(t, "/api/x", "1.2.3.4"); r.Status != 200 {
		t.Fatalf("first: %d", r.Status)
	}
	// A different spoofed address does not buy a new budget.
	for i, ip := range []string{"5.6.7.8", "9.9.9.9"} {
		if r := n.get(t, "/api/x", ip); r.Status != 429 {
			t.Fatalf("spoofed request %d: %d", i, r.Status)
		}
	}
	// Two rejections within a minute: the real address is banned, not the spoofed ones.
	testenv.Eventually(t, 2*time.Second, func() error {
		bans, err := n.bans.List(context.Background())
		if err != nil {
			return err
		}
		for _, b := range bans {
			if b.Prefix.String() == "127.0.0.1/32" && b.Auto && b.Route == "api" {
				return nil
			}
		}
		return errorf("no auto ban of 127.0.0.1 yet: %+v", bans)
	})
	testenv.Eventually(t, time.Second, func() error {
		if r := n.get(t, "/api/x", "1.2.3.4"); r.Status != 403 {
			return errorf("status %d", r.Status)
		}
		return nil
	})
}
