package gateway_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/gateway/registry"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestHeartbeatReweighsWithoutRebuilding: a heartbeat that only brings a
// new load moves traffic between the instances at once, and the snapshot
// is not recompiled for it (wharf_gateway_registry_rebuilds_total stays);
// an instance that joins still rebuilds it. It failed before: every
// heartbeat counted a rebuild.
func TestHeartbeatReweighsWithoutRebuilding(t *testing.T) {
	a, b := startUpstream(t, "a"), startUpstream(t, "b")
	st := memStore(t)
	set := metrics.NewSet()
	g := gatewaytest.Start(t, gateway.Options{Store: st, Metrics: set, Edge: config.Edge{
		Services: []config.ServiceConfig{{Name: "shop"}},
		Routes:   []config.RouteConfig{{Name: "shop", Path: "/", Service: "shop"}},
	}}, echoFunctions{})
	reg := registry.New(st, registry.Options{})
	beat := func(id, addr string, cpu float64) {
		t.Helper()
		in := registry.Instance{Service: "shop", ID: id, Addr: addr, Load: &registry.Load{CPU: cpu}}
		if _, err := reg.Register(context.Background(), in, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	served := func() map[string]int {
		seen := map[string]int{}
		for i := 0; i < 44; i++ {
			r := gatewaytest.Do(t, g.Addr().String(), "GET", "/x", nil, "")
			if r.Status != 200 {
				seen["status "+strconv.Itoa(r.Status)]++
				continue
			}
			seen[strings.Fields(r.String())[0]]++
		}
		return seen
	}
	beat("a-1", a.addr, 0.5)
	beat("b-1", b.addr, 0.5)
	testenv.Eventually(t, 5*time.Second, func() error {
		if s := served(); s["a"] == 0 || s["b"] == 0 {
			return errorf("both registered instances do not get traffic yet: %v", s)
		}
		return nil
	})
	rebuilds := counter(t, set, "wharf_gateway_registry_rebuilds_total")

	beat("a-1", a.addr, 0.95) // busy: about 1/11 of the traffic
	beat("b-1", b.addr, 0.05)
	testenv.Eventually(t, 5*time.Second, func() error {
		if s := served(); s["a"]*4 > s["b"] {
			return errorf("the busy instance still gets %v", s)
		}
		return nil
	})
	if got := counter(t, set, "wharf_gateway_registry_rebuilds_total"); got != rebuilds {
		t.Fatalf("heartbeats rebuilt the snapshot: %d rebuilds, %d before", got, rebuilds)
	}

	c := startUpstream(t, "c")
	beat("c-1", c.addr, 0.05)
	testenv.Eventually(t, 5*time.Second, func() error {
		if s := served(); s["c"] == 0 {
			return errorf("the new instance gets no traffic: %v", s)
		}
		return nil
	})
	if got := counter(t, set, "wharf_gateway_registry_rebuilds_total"); got <= rebuilds {
		t.Fatalf("a joining instance did not rebuild: %d rebuilds", got)
	}
}

// counter reads a counter's value from the set's exposition.
func counter(t *testing.T, set *metrics.Set, name string) int {
	t.Helper()
	var buf bytes.Buffer
	set.WritePrometheus(&buf)
	for _, line := range strings.Split(buf.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return n
		}
	}
	t.Fatalf("no %s in\n%s", name, buf.String())
	return 0
}
