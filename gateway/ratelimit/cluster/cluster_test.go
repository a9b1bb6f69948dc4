package cluster

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/gateway/ratelimit"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestThreeNodesAdmitExactRate: three nodes (separate clients) hammer one
// key of a 200r/s zone concurrently; together they must admit within ±2 % of
// what one nginx would: 1 + burst + rate × seconds. The burst (0.5 s of
// rate) makes stalls of the hammering goroutines shorter than 0.5 s harmless
// on a busy machine: the budget they leave is banked, not lost.
func TestThreeNodesAdmitExactRate(t *testing.T) {
	r := startRedis(t)
	const (
		rate    = 200
		burst   = 100
		seconds = 4
	)
	var sets []*Set
	var nodes []*node
	for i := range 3 {
		// A generous Timeout: this test is about the algorithm, and a
		// fallback would make the count approximate (it is asserted below).
		n := newNode(t, r.Addr, Options{NodeID: fmt.Sprint("n", i), Timeout: 500 * time.Millisecond})
		reg := ratelimit.NewRegistry(nil)
		z := mustZone(t, reg, ratelimit.Limit{Name: "global", Rate: rate * 1000, Burst: burst, Delay: nodelay})
		nodes = append(nodes, n)
		sets = append(sets, mustSet(t, n.Cluster, z))
	}
	key := [][]byte{[]byte("one-key")}
	stop := make(chan struct{})
	var mu sync.Mutex
	var total hammerResult
	var wg sync.WaitGroup
	for _, s := range sets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := hammer(t, s, key, 4, stop)
			mu.Lock()
			total.add(h)
			mu.Unlock()
		}()
	}
	time.Sleep(seconds * time.Second)
	close(stop)
	wg.Wait()
	want := 1 + burst + rate*total.window().Seconds()
	dev := (float64(total.admitted) - want) / want
	t.Logf("admitted %d, rejected %d in %v; nginx-exact %.1f; deviation %+.2f%%", total.admitted, total.rejected, total.window(), want, 100*dev)
	if math.Abs(dev) > 0.02 {
		t.Fatalf("admitted %d, want %.1f ±2%%", total.admitted, want)
	}
	if total.rejected < total.admitted {
		t.Fatalf("the nodes did not saturate the limit: %d rejected", total.rejected)
	}
	for i, n := range nodes {
		if n.metric("wharf_ratelimit_cluster_fallbacks_total") != "0" {
			t.Fatalf("node %d fell back: %s", i, n.logs)
		}
	}
}

// TestFallbackAndRecovery kills Redis under three running nodes: decisions
// continue without errors, locally at rate/3; after a restart the nodes go
// back to cluster mode by themselves.
func TestFallbackAndRecovery(t *testing.T) {
	r := startRedis(t)
	const rate, burst = 60, 10 // r/s cluster-wide: 20r/s per node in fallback
	opts := Options{HeartbeatEvery: 50 * time.Millisecond, NodeTTL: 500 * time.Millisecond, ProbeEvery: 50 * time.Millisecond, Timeout: 100 * time.Millisecond}
	var nodes []*node
	var sets []*Set
	for i := range 3 {
		o := opts
		o.NodeID = fmt.Sprint("node", i)
		n := newNode(t, r.Addr, o)
		n.run(t)
		z := mustZone(t, ratelimit.NewRegistry(nil), ratelimit.Limit{Name: "api", Rate: rate * 1000, Burst: burst, Delay: nodelay})
		nodes = append(nodes, n)
		sets = append(sets, mustSet(t, n.Cluster, z))
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		for i, n := range nodes {
			if n.Nodes() != 3 {
				return fmt.Errorf("node %d sees %d nodes", i, n.Nodes())
			}
		}
		return nil
	})
	n0, s0 := nodes[0], sets[0]
	key := [][]byte{{198, 51, 100, 7}}
	if d := s0.Decide(key); d.Outcome != passed || n0.Mode() != ModeCluster || n0.metric("wharf_ratelimit_cluster_mode") != "1" {
		t.Fatalf("%+v %v", d, n0.Mode())
	}

	r.Kill()
	// Decisions meet the dead Redis and are decided locally; the third
	// consecutive failure switches the node to fallback mode.
	for range DefaultFallbackAfter {
		if d := s0.Decide(key); d.Outcome != passed && d.Outcome != reject {
			t.Fatalf("%+v", d)
		}
	}
	if n0.Mode() != ModeFallback {
		t.Fatalf("mode %v after Redis died", n0.Mode())
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		for i, n := range nodes {
			if n.Mode() != ModeFallback {
				return fmt.Errorf("node %d in %v", i, n.Mode())
			}
		}
		return nil
	})
	if n0.Nodes() != 3 {
		t.Fatalf("last known node count lost: %d", n0.Nodes())
	}
	// Fallback: rate/3 = 20r/s on this node; the full rate would be 60r/s.
	// The state is the local zone's: the failed decisions above took 3 of
	// its 1 + burst.
	h := hammerFor(t, s0, key, 4, 2*time.Second)
	local := float64(1+burst-DefaultFallbackAfter) + rate/3*h.window().Seconds()
	t.Logf("fallback: admitted %d, rejected %d in %v (rate/N predicts %.0f)", h.admitted, h.rejected, h.window(), local)
	if float64(h.admitted) < 0.5*local || float64(h.admitted) > 1.5*local {
		t.Fatalf("fallback admitted %d, want about %.0f (rate/N)", h.admitted, local)
	}
	if got := n0.metric("wharf_ratelimit_cluster_mode"); got != "0" {
		t.Fatalf("mode gauge %s", got)
	}
	if got := n0.metric("wharf_ratelimit_cluster_fallbacks_total"); got != "1" {
		t.Fatalf("fallbacks %s", got)
	}

	r.Start()
	testenv.Eventually(t, 10*time.Second, func() error {
		for i, n := range nodes {
			if n.Mode() != ModeCluster {
				return fmt.Errorf("node %d still in %v", i, n.Mode())
			}
		}
		return nil
	})
	remote := n0.metric(`wharf_ratelimit_cluster_decisions_total{backend="redis"}`)
	s0.Decide(key)
	if got := n0.metric(`wharf_ratelimit_cluster_decisions_total{backend="redis"}`); got == remote {
		t.Fatalf("decisions not back in Redis: %s", got)
	}
	if n0.metric("wharf_ratelimit_cluster_mode") != "1" || n0.metric("wharf_ratelimit_cluster_recoveries_total") != "1" {
		t.Fatalf("metrics: mode %s recoveries %s", n0.metric("wharf_ratelimit_cluster_mode"), n0.metric("wharf_ratelimit_cluster_recoveries_total"))
	}
	logs := n0.logs.String()
	if !strings.Contains(logs, "level=WARN msg=\"rate limiting falls back") || !strings.Contains(logs, "level=INFO msg=\"rate limiting back in cluster mode\"") {
		t.Fatalf("transitions not logged:\n%s", logs)
	}
}

// TestSlowRedisFallsBack: a decision that gets no answer within Timeout (Redis
// is busy running a long script) is decided locally; the node recovers once
// Redis answers again.
func TestSlowRedisFallsBack(t *testing.T) {
	r := startRedis(t)
	n := newNode(t, r.Addr, Options{ProbeEvery: 20 * time.Millisecond})
	n.run(t)
	z := mustZone(t, ratelimit.NewRegistry(nil), ratelimit.Limit{Name: "slow", Rate: 1000})
	s := mustSet(t, n.Cluster, z)
	key := [][]byte{[]byte("k")}
	busy := make(chan error, 1)
	blocker := newClient(t, r.Addr)
	go func() {
		// Redis runs one script at a time: this blocks it for ~400 ms.
		busy <- blocker.Eval(context.Background(),
			`local t = redis.call('TIME') local s = t[1]*1000000 + t[2]
			 while true do local u = redis.call('TIME') if u[1]*1000000 + u[2] - s > 400000 then return 1 end end`, nil).Err()
	}()
	testenv.Eventually(t, 5*time.Second, func() error {
		if d := s.Decide(key); d.Outcome != passed && d.Outcome != reject {
			t.Fatalf("%+v", d)
		}
		if n.Mode() != ModeFallback {
			return fmt.Errorf("still in %v", n.Mode())
		}
		return nil
	})
	if err := <-busy; err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		if n.Mode() != ModeCluster {
			return fmt.Errorf("still in %v", n.Mode())
		}
		return nil
	})
	if !strings.Contains(n.logs.String(), "deadline exceeded") && !strings.Contains(n.logs.String(), "timeout") {
		t.Fatalf("fallback reason not logged:\n%s", n.logs)
	}
}

// TestFallbackFollowsNodeCount: the local views are rebuilt when N changes
// and keep the zone state.
func TestFallbackFollowsNodeCount(t *testing.T) {
	r := startRedis(t)
	n := newNode(t, r.Addr, Options{})
	clk := &vclock{}
	z := mustZone(t, ratelimit.NewRegistry(clk.ms), ratelimit.Limit{Name: "f", Rate: 4000, Burst: 1, Delay: nodelay})
	s := mustSet(t, n.Cluster, z)
	n.fail(fmt.Errorf("test"))
	key := [][]byte{[]byte("k")}
	n.nodes.Store(4) // 1r/s each
	for i, want := range []ratelimit.Outcome{passed, passed, reject} {
		if d := s.Decide(key); d.Outcome != want {
			t.Fatalf("%d: %+v", i, d)
		}
	}
	clk.set(999)
	if d := s.Decide(key); d.Outcome != reject {
		t.Fatalf("drained faster than rate/4: %+v", d)
	}
	n.nodes.Store(2) // 2r/s each, same state (1000 at t=0): 1000-1998+1000 = 2
	if d := s.Decide(key); d.Outcome != passed || d.Excess != 2 {
		t.Fatalf("%+v", d)
	}
	// rate/N below 1 milli-request/s is 1: in 999001 ms only 999 drain:
	// 2-999+1000 = 3.
	n.nodes.Store(1000000)
	clk.set(1_000_000)
	if d := s.Decide(key); d.Outcome != passed || d.Excess != 3 {
		t.Fatalf("%+v", d)
	}
	if z.Len() != 1 {
		t.Fatalf("len %d", z.Len())
	}
}
