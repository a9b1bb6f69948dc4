package gateway_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/gateway/ratelimit"
	"github.com/wharfhq/wharf/gateway/ratelimit/cluster"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/testenv"
)

// clusterNode is one gateway with its own cluster limiter and Redis client.
type clusterNode struct {
	g *gateway.Gateway
	c *cluster.Cluster
	m *metrics.Set
}

func startClusterNode(t *testing.T, redisAddr string, e config.Edge) *clusterNode {
	t.Helper()
	// Timeout 2 s instead of the default 5 ms: this test measures the
	// cluster algorithm's accuracy, and on a loaded 2-core CI machine
	// running -race a 5 ms budget is missed now and then, which makes some
	// decisions local (by design, and tested in phase 2 by killing Redis).
	// 250 ms was still missed with the test process starved of CPU (a
	// reply already in the socket counts as late when the goroutine runs
	// after the deadline): 3 windows in a row had local decisions.
	const timeout = 2 * time.Second
	copts := cluster.ClientOptions(redisAddr)
	copts.ReadTimeout, copts.WriteTimeout = timeout, timeout
	client := redis.NewClient(copts)
	t.Cleanup(func() { _ = client.Close() })
	m := metrics.NewSet()
	c, err := cluster.New(cluster.Options{Client: client, Timeout: timeout, HeartbeatEvery: 200 * time.Millisecond, NodeTTL: time.Second, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	g := gatewaytest.Start(t, gateway.Options{
		Edge:          e,
		ClusterLimits: func(z ...*ratelimit.Zone) (gateway.LimitSet, error) { return c.NewSet(z...) },
		LimitMode:     func() string { return c.Mode().String() },
	}, echoFunctions{})
	return &clusterNode{g: g, c: c, m: m}
}

// hammer sends requests through every node from workers goroutines each
// until stop closes, counting answers by status.
func hammer(t *testing.T, nodes []*clusterNode, workers int, stop <-chan struct{}, counts *sync.Map, first, last *atomic.Int64, sent *sentTimes) *sync.WaitGroup {
	var wg sync.WaitGroup
	for _, n := range nodes {
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(addr string) {
				defer wg.Done()
				c := &fasthttp.HostClient{Addr: addr, MaxConns: 4}
				req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
				defer fasthttp.ReleaseRequest(req)
				defer fasthttp.ReleaseResponse(resp)
				req.SetRequestURI("http://" + addr + "/api/limited")
				tick := time.NewTicker(20 * time.Millisecond) // 50 r/s per worker, 450 r/s from 9 workers: 3x the rate overall, without saturating 2 cores
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
					}
					sent.add(time.Now())
					err := c.DoTimeout(req, resp, 5*time.Second)
					status := resp.StatusCode()
					if err != nil {
						status = -1
					}
					if status == 200 {
						now := time.Now().UnixMilli()
						first.CompareAndSwap(0, now)
						for l := last.Load(); now > l && !last.CompareAndSwap(l, now); l = last.Load() {
						}
					}
					v, _ := counts.LoadOrStore(status, new(atomic.Int64))
					v.(*atomic.Int64).Add(1)
				}
			}(n.g.Addr().String())
		}
	}
	return &wg
}

// sentTimes records when every request was sent, so the test can compute
// what an exact nginx limit_req would have admitted for exactly this
// arrival pattern (a starved load generator must not look like a limiter
// error).
type sentTimes struct {
	mu sync.Mutex
	ms []int64
}

func (s *sentTimes) add(at time.Time) {
	s.mu.Lock()
	s.ms = append(s.ms, at.UnixMilli())
	s.mu.Unlock()
}

// nginxAdmits replays the arrivals through the limit_req algorithm (rate in
// requests per second, nodelay) and returns how many it admits.
func (s *sentTimes) nginxAdmits(rate, burst int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	slices.Sort(s.ms)
	var admitted, excess, last int64
	for i, now := range s.ms {
		if i == 0 {
			admitted, last = 1, now
			continue
		}
		e := max(0, excess-rate*1000*(now-last)/1000+1000)
		if e > burst*1000 {
			continue
		}
		excess, last = e, now
		admitted++
	}
	return admitted
}

func count(m *sync.Map, status int) int64 {
	if v, ok := m.Load(status); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

// clusterWindow hammers the nodes until the admitted requests span 10 s and
// returns how many were admitted, how many an exact nginx limit_req admits
// for the same arrivals at the limiter (the Redis times of the decisions),
// how many were rejected and how many decisions Redis made.
func clusterWindow(t *testing.T, nodes []*clusterNode, redisAddr string, rate, burst int64) (admitted int64, want float64, rejected, decisions int64) {
	t.Helper()
	timeline := monitorZone(t, redisAddr, "global")
	var counts sync.Map
	var first, last atomic.Int64
	var sent sentTimes
	stop := make(chan struct{})
	wg := hammer(t, nodes, 3, stop, &counts, &first, &last, &sent)
	testenv.Eventually(t, 60*time.Second, func() error {
		if f, l := first.Load(), last.Load(); f == 0 || l-f < 10_000 {
			return errorf("arrivals span %d ms of 10,000", l-f)
		}
		return nil
	})
	close(stop)
	wg.Wait()
	arrivals := timeline.stop(t, redisAddr)
	admitted, rejected, decisions = count(&counts, 200), count(&counts, 429), int64(len(arrivals))
	span := float64(last.Load()-first.Load()) / 1000
	want = float64((&sentTimes{ms: arrivals}).nginxAdmits(rate, burst))
	atSend := float64(sent.nginxAdmits(rate, burst))
	var other []string // anything but 200 and 429 (-1: transport error)
	counts.Range(func(k, v any) bool {
		if s := k.(int); s != 200 && s != 429 {
			other = append(other, fmt.Sprintf("%d×%d", v.(*atomic.Int64).Load(), s))
		}
		return true
	})
	t.Logf("cluster: admitted %d over %.3f s, nginx-exact for the %d arrivals at Redis %.0f (%.2f%%; for the %d send times %.0f, %.2f%%; rate×span+burst+1 = %.0f); rejected %d; other answers %v",
		admitted, span, len(arrivals), want, 100*(float64(admitted)-want)/want, len(sent.ms), atSend, 100*(float64(admitted)-atSend)/atSend,
		float64(burst+1)+float64(rate)*span, rejected, other)
	return admitted, want, rejected, decisions
}

// localDecisions is how many requests the nodes decided locally so far
// (Redis timeouts and fallback mode).
func localDecisions(nodes []*clusterNode) int64 {
	var sum int64
	for _, n := range nodes {
		var b strings.Builder
		n.m.WritePrometheus(&b)
		for _, line := range strings.Split(b.String(), "\n") {
			if v, ok := strings.CutPrefix(line, `wharf_ratelimit_cluster_decisions_total{backend="local"} `); ok {
				f, _ := strconv.ParseFloat(v, 64)
				sum += int64(f)
			}
		}
	}
	return sum
}

func dumpMetrics(t *testing.T, nodes []*clusterNode) {
	t.Helper()
	for i, n := range nodes {
		var b strings.Builder
		n.m.WritePrometheus(&b)
		t.Logf("node %d metrics:\n%s", i, b.String())
	}
}

// TestClusterRateWithinTwoPercentAndRedisLoss runs 3 gateways on one Redis:
// together they admit the nginx-exact count of a route-wide limit within
// ±2 % (nginx replayed on the decisions' Redis times, read through MONITOR:
// the arrivals as the limiter saw them, not as the clients sent them);
// killing Redis mid-run gives no 5xx and keeps limiting (locally at rate/3
// per node); restarting it restores cluster mode.
func TestClusterRateWithinTwoPercentAndRedisLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about 15 s")
	}
	rd := testenv.StartRedis(t)
	const rate, burst = 150, 10
	e := config.Edge{
		Limits: []config.LimitConfig{{Name: "global", Key: "route", Rate: "150r/s", Burst: burst, NoDelay: true}},
		Routes: []config.RouteConfig{fnRoute("limited", "/api/limited", "global")},
	}
	var nodes []*clusterNode
	for i := 0; i < 3; i++ {
		nodes = append(nodes, startClusterNode(t, rd.Addr, e))
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		for _, n := range nodes {
			if n.c.Nodes() != 3 {
				return errorf("node sees %d nodes", n.c.Nodes())
			}
		}
		return nil
	})

	// Phase 1: 10 s in cluster mode. The window measures the cluster
	// algorithm only if Redis decided every request in it: a decision
	// Redis did not answer within the timeout, or a fallback after a missed
	// heartbeat (a loaded machine can stall Redis that long), is made
	// locally at rate/3 with a per-node burst — by design not nginx-exact,
	// and phase 2 tests it. Such a window is measured again, from a fresh
	// state in Redis, at most windowAttempts times.
	const windowAttempts = 3
	probe := redis.NewClient(&redis.Options{Addr: rd.Addr})
	t.Cleanup(func() { _ = probe.Close() })
	for attempt := 1; ; attempt++ {
		localBefore := localDecisions(nodes)
		admitted, want, rejected, decisions := clusterWindow(t, nodes, rd.Addr, rate, burst)
		if local := localDecisions(nodes) - localBefore; local != 0 {
			if attempt == windowAttempts {
				dumpMetrics(t, nodes)
				t.Fatalf("every one of %d windows had requests decided locally (%d in the last): Redis did not answer within the timeout", windowAttempts, local)
			}
			t.Logf("window %d: %d requests decided locally (Redis too slow); measuring again", attempt, local)
			// Every node back in cluster mode, and a fresh state in Redis
			// (as the nginx replay starts with).
			testenv.Eventually(t, 10*time.Second, func() error {
				for i, n := range nodes {
					if n.c.Mode() != cluster.ModeCluster {
						return errorf("node %d in mode %s", i, n.c.Mode())
					}
				}
				keys, err := probe.Keys(context.Background(), cluster.DefaultPrefix+"6:global:*").Result()
				if err != nil || len(keys) != 0 {
					return errorf("limit state still in Redis: %v %v", keys, err)
				}
				return nil
			})
			continue
		}
		if decisions != admitted+rejected {
			t.Fatalf("Redis made %d decisions for %d answers (%d admitted, %d rejected)", decisions, admitted+rejected, admitted, rejected)
		}
		if math.Abs(float64(admitted)-want) > 0.02*want {
			dumpMetrics(t, nodes)
			t.Fatalf("admitted %d, want %.0f ± 2%%", admitted, want)
		}
		if rejected == 0 {
			t.Fatal("the load must exceed the rate")
		}
		break
	}

	// Phase 2: Redis dies mid-run; every node falls back to rate/3.
	var counts2 sync.Map
	var first2, last2 atomic.Int64
	stop2 := make(chan struct{})
	wg2 := hammer(t, nodes, 3, stop2, &counts2, &first2, &last2, &sentTimes{})
	// Redis dies mid-run: once requests were admitted in cluster mode.
	testenv.Eventually(t, 5*time.Second, func() error {
		if count(&counts2, 200) == 0 {
			return errorf("no request admitted yet")
		}
		return nil
	})
	rd.Kill()
	testenv.Eventually(t, 10*time.Second, func() error {
		for i, n := range nodes {
			if n.c.Mode() != cluster.ModeFallback {
				return errorf("node %d in mode %s, want fallback", i, n.c.Mode())
			}
		}
		return nil
	})
	// A measurement window in fallback mode: until its arrivals span 2 s.
	inFallback := last2.Load()
	testenv.Eventually(t, 30*time.Second, func() error {
		if l := last2.Load(); l-inFallback < 2_000 {
			return errorf("fallback arrivals span %d ms of 2,000", l-inFallback)
		}
		return nil
	})
	close(stop2)
	wg2.Wait()
	var fivexx int64
	counts2.Range(func(k, v any) bool {
		if s := k.(int); s >= 500 || s < 0 {
			fivexx += v.(*atomic.Int64).Load()
		}
		return true
	})
	if fivexx != 0 {
		t.Fatalf("%d 5xx or transport errors while Redis was down", fivexx)
	}
	if count(&counts2, 429) == 0 {
		t.Fatal("limiting stopped while Redis was down")
	}
	for i, n := range nodes {
		if n.c.Mode() != cluster.ModeFallback {
			t.Fatalf("node %d in mode %s, want fallback", i, n.c.Mode())
		}
	}
	admitted2 := count(&counts2, 200)
	span2 := float64(last2.Load()-first2.Load()) / 1000
	t.Logf("with Redis killed mid-run: admitted %d over %.3f s (cluster rate would admit about %.0f)", admitted2, span2, rate*span2)
	if float64(admitted2) > 1.5*(rate*span2+3*(burst+1)) {
		t.Fatalf("fallback admitted %d: far above the configured rate", admitted2)
	}

	// Phase 3: Redis is back; every node returns to cluster mode by itself.
	rd.Start()
	testenv.Eventually(t, 10*time.Second, func() error {
		for i, n := range nodes {
			gatewaytest.Do(t, n.g.Addr().String(), "GET", "/api/limited", nil, "")
			if n.c.Mode() != cluster.ModeCluster {
				return errorf("node %d still in %s", i, n.c.Mode())
			}
		}
		return nil
	})
	if s := nodes[0].g.Stats().(gateway.Stats); s.LimitMode != "cluster" {
		t.Fatalf("stats limit mode %q", s.LimitMode)
	}
}
