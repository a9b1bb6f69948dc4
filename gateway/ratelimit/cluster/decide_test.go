package cluster

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wharfhq/wharf/gateway/ratelimit"
)

type step struct {
	at    int64
	want  ratelimit.Outcome
	delay int64
}

const (
	passed  = ratelimit.Passed
	delayed = ratelimit.Delayed
	reject  = ratelimit.Rejected
	nodelay = ratelimit.NoDelay
)

// timelines are the nginx limit_req timelines of the ratelimit package.
var timelines = []struct {
	name  string
	lim   ratelimit.Limit
	steps []step
}{
	{"1r/s", ratelimit.Limit{Rate: 1000}, []step{
		{0, passed, 0}, {0, reject, 0}, {500, reject, 0}, {999, reject, 0}, {1000, passed, 0}, {1000, reject, 0},
	}},
	{"2r/s burst=1 nodelay", ratelimit.Limit{Rate: 2000, Burst: 1, Delay: nodelay}, []step{
		{0, passed, 0}, {0, passed, 0}, {0, reject, 0}, {499, reject, 0}, {500, passed, 0}, {1000, passed, 0},
	}},
	{"2r/s burst=5", ratelimit.Limit{Rate: 2000, Burst: 5}, []step{
		{0, passed, 0}, {0, delayed, 500}, {0, delayed, 1000}, {0, delayed, 1500}, {0, delayed, 2000}, {0, delayed, 2500},
		{0, reject, 0}, {1000, delayed, 2000},
	}},
	{"1r/m", ratelimit.Limit{Rate: 16}, []step{
		{0, passed, 0}, {1000, reject, 0}, {62499, reject, 0}, {62500, passed, 0}, {62500, reject, 0}, {125000, passed, 0},
	}},
	{"30r/m burst=1", ratelimit.Limit{Rate: 500, Burst: 1}, []step{
		{0, passed, 0}, {0, delayed, 2000}, {0, reject, 0}, {1000, reject, 0}, {1999, reject, 0},
		{2000, delayed, 2000}, {2000, reject, 0}, {4000, delayed, 2000},
	}},
	{"30r/m burst=2 nodelay", ratelimit.Limit{Rate: 500, Burst: 2, Delay: nodelay}, []step{
		{0, passed, 0}, {0, passed, 0}, {0, passed, 0}, {0, reject, 0}, {1999, reject, 0}, {2000, passed, 0}, {2000, reject, 0},
	}},
	{"1r/s burst=4 delay=2", ratelimit.Limit{Rate: 1000, Burst: 4, Delay: 2}, []step{
		{0, passed, 0}, {0, passed, 0}, {0, passed, 0}, {0, delayed, 1000}, {0, delayed, 2000}, {0, reject, 0},
		{1000, delayed, 2000}, {4000, passed, 0}, {4000, delayed, 1000},
	}},
	{"skew small", ratelimit.Limit{Rate: 1000, Burst: 1, Delay: nodelay}, []step{
		{10000, passed, 0}, {9000, passed, 0}, {8000, reject, 0}, {10000, passed, 0},
	}},
	{"skew large", ratelimit.Limit{Rate: 1000000, Burst: 0}, []step{
		{100000, passed, 0}, {100000, reject, 0}, {40000, reject, 0}, {39999, passed, 0}, {39998, reject, 0}, {40000, passed, 0},
	}},
}

// virtualNode is a node whose decisions use clk instead of Redis TIME, with
// a TTL margin long enough that no key expires in real time during a test.
func virtualNode(t *testing.T, addr string, clk *vclock) *node {
	n := newNode(t, addr, Options{Timeout: 5 * time.Second, Prefix: "test:" + t.Name() + ":"})
	n.clock = clk.ms
	n.margin = "600000"
	return n
}

// TestTimelinesExact runs the nginx timelines through the Lua script on a
// virtual clock: outcomes and delays must be exact.
func TestTimelinesExact(t *testing.T) {
	r := startRedis(t)
	for _, tc := range timelines {
		t.Run(tc.name, func(t *testing.T) {
			clk := &vclock{}
			n := virtualNode(t, r.Addr, clk)
			lim := tc.lim
			lim.Name = "z"
			reg := ratelimit.NewRegistry(clk.ms)
			z := mustZone(t, reg, lim)
			// z listed second behind a zone that never limits.
			free := mustZone(t, reg, ratelimit.Limit{Name: "free", Rate: ratelimit.MaxRate, Burst: ratelimit.MaxBurst, Delay: nodelay})
			s := mustSet(t, n.Cluster, free, z)
			keys := [][]byte{[]byte("h"), {10, 0, 0, 1}}
			for i, st := range tc.steps {
				clk.set(st.at)
				d := s.Decide(keys)
				if d.Outcome != st.want || d.Delay != time.Duration(st.delay)*time.Millisecond {
					t.Errorf("step %d t=%d: got %v delay %v, want %v delay %dms", i+1, st.at, d.Outcome, d.Delay, st.want, st.delay)
				}
			}
			if n.Mode() != ModeCluster || n.metric(`wharf_ratelimit_cluster_decisions_total{backend="local"}`) != "0" {
				t.Fatalf("decided locally: %s", n.logs)
			}
		})
	}
}

// TestMatchesLocal decides random request sequences (several zones, skipped
// keys, dry-run, delays) both through a local ratelimit.Set and
// through Redis on the same virtual clock; every Decision must be identical.
func TestMatchesLocal(t *testing.T) {
	r := startRedis(t)
	rates := []int64{16, 500, 1000, 2000, 7000, 100000}
	seen := map[ratelimit.Outcome]int{}
	for seed := uint64(1); seed <= 16; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			clk := &vclock{now: 1_000_000}
			n := virtualNode(t, r.Addr, clk)
			reg := ratelimit.NewRegistry(clk.ms)
			// The local reference has its own state: a cluster Set
			// shadow-charges its zones' tables with what Redis admits.
			refReg := ratelimit.NewRegistry(clk.ms)
			nz := 1 + rng.IntN(3)
			var zones, refZones []*ratelimit.Zone
			for i := range nz {
				l := ratelimit.Limit{
					Name:   fmt.Sprintf("z%d:%d", i, seed), // a ':' in the name is fine
					Rate:   rates[rng.IntN(len(rates))],
					Burst:  int64(rng.IntN(4)),
					Delay:  int64(rng.IntN(4)) - 1,
					DryRun: rng.IntN(3) == 0,
					Status: 429 + rng.IntN(2)*74,
				}
				zones = append(zones, mustZone(t, reg, l))
				refZones = append(refZones, mustZone(t, refReg, l))
			}
			local, err := ratelimit.NewSet(refZones...)
			if err != nil {
				t.Fatal(err)
			}
			remote := mustSet(t, n.Cluster, zones...)
			for i := range 300 {
				// The clock only moves forward here: the local table drops
				// fully drained keys, which is observable after a backward
				// jump (documented); backward jumps are in timelines.
				if rng.IntN(10) < 6 {
					clk.set(clk.ms() + int64(rng.IntN(2000)))
				}
				keys := make([][]byte, nz)
				for j := range keys {
					if rng.IntN(6) > 0 {
						keys[j] = []byte{byte(rng.IntN(3)), 0, ':'}
					}
				}
				if rng.IntN(10) == 0 {
					keys = keys[:rng.IntN(nz+1)]
				}
				want := local.Decide(keys)
				got := remote.Decide(keys)
				if got != want {
					t.Fatalf("request %d at %d keys %q:\nredis %+v\nlocal %+v", i, clk.ms(), keys, got, want)
				}
				seen[got.Outcome]++
			}
			if n.Mode() != ModeCluster {
				t.Fatalf("fell back: %s", n.logs)
			}
		})
	}
	if len(seen) != 5 {
		t.Fatalf("not every outcome was exercised: %v", seen)
	}
	t.Logf("outcomes: %v", seen)
}

// TestTimelinesRedisTime runs timelines on Redis's own clock, with margins.
func TestTimelinesRedisTime(t *testing.T) {
	r := startRedis(t)
	n := newNode(t, r.Addr, Options{Timeout: time.Second})
	reg := ratelimit.NewRegistry(nil)
	within := func(d, lo, hi time.Duration) bool { return d >= lo && d <= hi }
	key := [][]byte{[]byte("203.0.113.9")}

	t.Run("2r/s burst=1 nodelay", func(t *testing.T) {
		s := mustSet(t, n.Cluster, mustZone(t, reg, ratelimit.Limit{Name: "a", Rate: 2000, Burst: 1, Delay: nodelay}))
		start := time.Now()
		for i, want := range []ratelimit.Outcome{passed, passed} {
			if d := s.Decide(key); d.Outcome != want {
				t.Fatalf("%d: %+v", i, d)
			}
		}
		d := s.Decide(key)
		if el := time.Since(start); el < 300*time.Millisecond {
			if d.Outcome != reject || d.Status != 429 || !within(d.RetryAfter, 500*time.Millisecond-el-10*time.Millisecond, 500*time.Millisecond) {
				t.Fatalf("3: %+v after %v", d, el)
			}
		}
		time.Sleep(600 * time.Millisecond) // drains 1200 ≥ the 1000 needed
		if d := s.Decide(key); d.Outcome != passed {
			t.Fatalf("4: %+v", d)
		}
		if d := s.Decide(key); d.Outcome != reject {
			t.Fatalf("5: %+v", d)
		}
	})
	// A rate slow enough (one request per 100 s) that a loaded machine's
	// wall time between the decisions cannot change an outcome: the
	// margins are the time the test measured, however long it was.
	t.Run("0.01r/s burst=3 delay=1", func(t *testing.T) {
		const unit = 100 * time.Second // the time one request's excess drains
		s := mustSet(t, n.Cluster, mustZone(t, reg, ratelimit.Limit{Name: "b", Rate: 10, Burst: 3, Delay: 1}))
		start := time.Now()
		var ds []ratelimit.Decision
		for range 5 {
			ds = append(ds, s.Decide(key))
		}
		el := time.Since(start)
		lo := func(d time.Duration) time.Duration { return d - el - 5*time.Millisecond }
		if ds[0].Outcome != passed || ds[1].Outcome != passed ||
			ds[2].Outcome != delayed || !within(ds[2].Delay, lo(unit), unit) ||
			ds[3].Outcome != delayed || !within(ds[3].Delay, lo(2*unit), 2*unit) ||
			ds[4].Outcome != reject || !within(ds[4].RetryAfter, lo(unit), unit) {
			t.Fatalf("after %v: %+v", el, ds)
		}
		// The state expires once fully drained (excess ≈ 3000 → 4 units, as before) plus the margin.
		el = time.Since(start)
		ttl, err := n.client.PTTL(context.Background(), "wharf:rl:1:b:203.0.113.9").Result()
		if err != nil || !within(ttl, 4*unit+ttlMargin*time.Millisecond-el-time.Second, 4*unit+ttlMargin*time.Millisecond) {
			t.Fatalf("pttl %v %v after %v", ttl, err, el)
		}
		drained := int64(el/time.Millisecond)/100 + 1 // 10 per second
		if got, err := n.client.HGet(context.Background(), "wharf:rl:1:b:203.0.113.9", "excess").Int64(); err != nil || got > 3000 || got < 3000-drained {
			t.Fatalf("excess %d %v after %v", got, err, el)
		}
	})
	t.Run("dry-run", func(t *testing.T) {
		s := mustSet(t, n.Cluster, mustZone(t, reg, ratelimit.Limit{Name: "c", Rate: 1000, DryRun: true}))
		for i, want := range []ratelimit.Outcome{passed, ratelimit.RejectedDryRun, ratelimit.RejectedDryRun} {
			if d := s.Decide(key); d.Outcome != want || !d.Allowed() || (i > 0 && d.RetryAfterSeconds() != 1) {
				t.Fatalf("%d: %+v", i, d)
			}
		}
	})
	t.Run("skipped", func(t *testing.T) {
		s := mustSet(t, n.Cluster, mustZone(t, reg, ratelimit.Limit{Name: "d", Rate: 1000}))
		for _, keys := range [][][]byte{nil, {nil}, {{}}} {
			if d := s.Decide(keys); d.Outcome != passed || d.Limit != -1 {
				t.Fatalf("%+v", d)
			}
		}
	})
	if n.Mode() != ModeCluster {
		t.Fatalf("fell back: %s", n.logs)
	}
}

// TestSharedZoneTwoRoutes: two Sets (routes) on two nodes listing one zone
// consume one budget; the routes list zones in different orders.
func TestSharedZoneTwoRoutes(t *testing.T) {
	r := startRedis(t)
	clk := &vclock{}
	a, b := virtualNode(t, r.Addr, clk), virtualNode(t, r.Addr, clk)
	regA, regB := ratelimit.NewRegistry(clk.ms), ratelimit.NewRegistry(clk.ms)
	ipLim := ratelimit.Limit{Name: "per_ip", Rate: 1000, Burst: 2, Delay: nodelay}
	hostLim := ratelimit.Limit{Name: "host", Rate: 100000, Burst: 100, Delay: nodelay}
	routeA := mustSet(t, a.Cluster, mustZone(t, regA, ipLim), mustZone(t, regA, hostLim))
	routeB := mustSet(t, b.Cluster, mustZone(t, regB, hostLim), mustZone(t, regB, ipLim))
	ip, host := []byte{192, 0, 2, 1}, []byte("shop")
	for i, want := range []ratelimit.Outcome{passed, passed, passed, reject} {
		var d ratelimit.Decision
		if i%2 == 0 {
			d = routeA.Decide([][]byte{ip, host})
		} else {
			d = routeB.Decide([][]byte{host, ip})
		}
		if d.Outcome != want {
			t.Fatalf("%d: %+v", i, d)
		}
		if want == reject && (d.Limit != 1 || d.Excess != 2000) {
			t.Fatalf("%d: rejected by the wrong zone: %+v", i, d)
		}
	}
	if got, want := routeA.PolicyField(), `"per_ip";q=1;w=1, "host";q=100;w=1`; got != want {
		t.Fatalf("policy %s", got)
	}
}

func TestNewValidation(t *testing.T) {
	rdb := redis.NewClient(ClientOptions("127.0.0.1:1"))
	defer rdb.Close()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	defer cc.Close()
	for i, o := range []Options{
		{},
		{Client: rdb, NodeTTL: time.Second, HeartbeatEvery: time.Second},
		{Client: rdb, Timeout: -1},
		{Client: cc},
	} {
		if _, err := New(o); err == nil || !strings.HasPrefix(err.Error(), "cannot create rate limit cluster") {
			t.Errorf("%d: %v", i, err)
		}
	}
	c, err := New(Options{Client: cc, Prefix: "{rl}:"})
	if err != nil || c.Mode() != ModeCluster || c.Nodes() != 1 || c.NodeID() == "" || c.Mode().String() != "cluster" {
		t.Fatal(err)
	}
	reg := ratelimit.NewRegistry(nil)
	z1 := mustZone(t, reg, ratelimit.Limit{Name: "same", Rate: 1000})
	z2 := mustZone(t, reg, ratelimit.Limit{Name: "same", Rate: 2000})
	if _, err := c.NewSet(z1, z2); err == nil {
		t.Fatal("duplicate zone names accepted")
	}
	if _, err := c.NewSet(); err == nil {
		t.Fatal("empty set accepted")
	}
}
