package gateway_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/gateway/registry"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestRegisteredInstancesJoinAndLeave: an instance that registers gets
// traffic within a second; one that stops heartbeating stops getting it
// when its TTL runs out; one that deregisters stops at once while its
// in-flight request completes.
func TestRegisteredInstancesJoinAndLeave(t *testing.T) {
	static, hb, leaver := startUpstream(t, "static"), startUpstream(t, "hb"), startUpstream(t, "leaver")
	leaver.delay = 700 * time.Millisecond
	n := startEdge(t, config.Edge{
		Services: []config.ServiceConfig{{Name: "shop", Instances: []config.InstanceConfig{{Addr: static.addr}}}},
		Routes:   []config.RouteConfig{{Name: "shop", Path: "/", Service: "shop"}},
	}, false)
	reg := registry.New(n.store, registry.Options{})
	ctx := context.Background()
	register := func(id, addr string, ttl time.Duration) {
		t.Helper()
		if _, err := reg.Register(ctx, registry.Instance{Service: "shop", ID: id, Addr: addr, Room: "bj"}, ttl); err != nil {
			t.Fatal(err)
		}
	}
	served := func() map[string]int {
		seen := map[string]int{}
		for i := 0; i < 9; i++ {
			r := gatewaytest.Do(t, n.addr, "GET", "/x", nil, "")
			if r.Status != 200 {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			seen[strings.Fields(r.String())[0]]++
		}
		return seen
	}
	register("hb-1", hb.addr, 2*time.Second)
	testenv.Eventually(t, time.Second, func() error {
		if served()["hb"] == 0 {
			return errorf("the registered instance gets no traffic yet")
		}
		return nil
	})
	// No more heartbeats: within its 2 s TTL (plus the expiry sweep) it is gone.
	start := time.Now()
	testenv.Eventually(t, 4*time.Second, func() error {
		if s := served(); s["hb"] > 0 {
			return errorf("still routed to the silent instance: %v", s)
		}
		return nil
	})
	t.Logf("silent instance left the pool %v after its last heartbeat (TTL 2s)", time.Since(start))

	register("leaver-1", leaver.addr, 10*time.Second)
	testenv.Eventually(t, time.Second, func() error {
		if served()["leaver"] == 0 {
			return errorf("the second instance gets no traffic yet")
		}
		return nil
	})
	// A slow request is in flight on the leaver when it deregisters.
	hits := leaver.hits.Load()
	inflight := make(chan gatewaytest.Response, 1)
	go func() {
		for {
			r := gatewaytest.Do(t, n.addr, "GET", "/slow", nil, "")
			if strings.HasPrefix(r.String(), "leaver") || r.Status != 200 {
				inflight <- r
				return
			}
		}
	}()
	// Wait until it reached the leaver (which holds it 700 ms).
	testenv.Eventually(t, 5*time.Second, func() error {
		if leaver.hits.Load() == hits {
			return errorf("the slow request has not reached the leaver yet")
		}
		return nil
	})
	if err := reg.Deregister(ctx, "shop", "leaver-1"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Second, func() error {
		if s := served(); s["leaver"] > 0 {
			return errorf("still routed to the deregistered instance: %v", s)
		}
		return nil
	})
	if r := <-inflight; r.Status != 200 || !strings.HasPrefix(r.String(), "leaver") {
		t.Fatalf("the in-flight request on the deregistered instance: %d %s", r.Status, r.Body)
	}
}

// TestReportedLoadSteersTraffic: an instance reporting 3× the load of its
// peer gets clearly less traffic, and an unchanged instance set keeps its
// pools (only the weights move) across heartbeats.
func TestReportedLoadSteersTraffic(t *testing.T) {
	busy, idle := startUpstream(t, "busy"), startUpstream(t, "idle")
	n := startEdge(t, config.Edge{
		Services: []config.ServiceConfig{{Name: "shop"}},
		Routes:   []config.RouteConfig{{Name: "shop", Path: "/", Service: "shop"}},
	}, false)
	reg := registry.New(n.store, registry.Options{})
	ctx := context.Background()
	beat := func() {
		t.Helper()
		for _, in := range []registry.Instance{
			{Service: "shop", ID: "busy", Addr: busy.addr, Load: &registry.Load{CPU: 0.9}},
			{Service: "shop", ID: "idle", Addr: idle.addr, Load: &registry.Load{CPU: 0.3}},
		} {
			if _, err := reg.Register(ctx, in, 10*time.Second); err != nil {
				t.Fatal(err)
			}
		}
	}
	beat()
	testenv.Eventually(t, 2*time.Second, func() error {
		if r := gatewaytest.Do(t, n.addr, "GET", "/x", nil, ""); r.Status != 200 {
			return errorf("status %d", r.Status)
		}
		return nil
	})
	seen := map[string]int{}
	for i := 0; i < 400; i++ {
		if i%100 == 0 {
			beat() // heartbeats must not disturb the balancing
		}
		r := gatewaytest.Do(t, n.addr, "GET", "/x", nil, "")
		if r.Status != 200 {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		seen[strings.Fields(r.String())[0]]++
	}
	t.Logf("traffic: %v", seen)
	if seen["idle"] == 0 || float64(seen["busy"]) > 0.6*float64(seen["idle"]) {
		t.Fatalf("the instance reporting 3× the load must get clearly less traffic: %v", seen)
	}
}
