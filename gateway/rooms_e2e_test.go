package gateway_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/edge"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/gateway/rooms"
	"github.com/wharfhq/wharf/gateway/roomswitch"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/redisstore"
	"github.com/wharfhq/wharf/internal/testenv"
)

// roomUpstream is an instance that answers "<name> <path>" and can be
// stopped (connections refused) and started again on the same address.
type roomUpstream struct {
	name, addr string
	unhealthy  atomic.Bool
	mu         sync.Mutex
	srv        *fasthttp.Server
	done       chan struct{}
}

func startRoomUpstream(t *testing.T, name string) *roomUpstream {
	t.Helper()
	u := &roomUpstream{name: name, addr: "127.0.0.1:0"}
	u.start(t)
	t.Cleanup(u.stop)
	return u
}

func (u *roomUpstream) start(t *testing.T) {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	var ln net.Listener
	var err error
	for range 50 { // the port of a stopped instance may take a moment to free
		if ln, err = net.Listen("tcp", u.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	u.addr = ln.Addr().String()
	u.srv = &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/healthz" {
			if u.unhealthy.Load() {
				ctx.SetStatusCode(503)
			}
			return
		}
		ctx.SetBodyString(u.name + " " + string(ctx.Path()))
	}, CloseOnShutdown: true}
	u.done = make(chan struct{})
	srv, done := u.srv, u.done
	go func() { _ = srv.Serve(ln); close(done) }()
}

func (u *roomUpstream) stop() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.srv == nil {
		return
	}
	_ = u.srv.Shutdown()
	<-u.done
	u.srv = nil
}

// roomNode is one gateway of a cluster sharing a Redis store.
type roomNode struct {
	g    *gateway.Gateway
	addr string
	st   store.Store
}

func startRoomCluster(t *testing.T, nodes int, e config.Edge) []*roomNode {
	t.Helper()
	r := testenv.StartRedis(t)
	ctx := context.Background()
	var out []*roomNode
	for i := range nodes {
		st, err := redisstore.Open(ctx, redisstore.Options{Addr: r.Addr, Namespace: "rooms"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		if i == 0 {
			if _, err := edge.New(st, edge.Options{}).Seed(ctx, e, "test"); err != nil {
				t.Fatal(err)
			}
		}
		g := gatewaytest.Start(t, gateway.Options{Store: st, Edge: e}, echoFunctions{})
		out = append(out, &roomNode{g: g, addr: g.Addr().String(), st: st})
	}
	return out
}

// sample is one request of a load run.
type sample struct {
	start  time.Time
	node   int
	room   string
	status int
}

// loadRun sends GETs through every node from workers goroutines each until
// stop is closed.
type loadRun struct {
	mu      sync.Mutex
	samples []sample
	wg      sync.WaitGroup
	stop    chan struct{}
}

func startLoad(t *testing.T, nodes []*roomNode, workers int) *loadRun {
	t.Helper()
	l := &loadRun{stop: make(chan struct{})}
	for ni, n := range nodes {
		hc := &fasthttp.HostClient{Addr: n.addr, MaxConns: workers}
		for range workers {
			l.wg.Go(func() {
				req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
				defer fasthttp.ReleaseRequest(req)
				defer fasthttp.ReleaseResponse(resp)
				req.SetRequestURI("http://" + n.addr + "/shop")
				for {
					select {
					case <-l.stop:
						return
					default:
					}
					s := sample{start: time.Now(), node: ni}
					if err := hc.DoTimeout(req, resp, 5*time.Second); err != nil {
						s.status = 599
					} else {
						s.status = resp.StatusCode()
						name, _, _ := strings.Cut(string(resp.Body()), " ")
						s.room, _, _ = strings.Cut(name, "-")
					}
					l.mu.Lock()
					l.samples = append(l.samples, s)
					l.mu.Unlock()
				}
			})
		}
	}
	t.Cleanup(l.end)
	return l
}

// waitFor waits until the run has sent n more requests than when called.
func (l *loadRun) waitFor(t *testing.T, n int) {
	t.Helper()
	l.mu.Lock()
	want := len(l.samples) + n
	l.mu.Unlock()
	testenv.Eventually(t, 10*time.Second, func() error {
		l.mu.Lock()
		defer l.mu.Unlock()
		if len(l.samples) < want {
			return errorf("%d of %d requests sent", len(l.samples), want)
		}
		return nil
	})
}

// waitSince waits until the run has sent n requests that started after since.
func (l *loadRun) waitSince(t *testing.T, since time.Time, n int) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, func() error {
		l.mu.Lock()
		defer l.mu.Unlock()
		got := 0
		for _, s := range l.samples {
			if s.start.After(since) {
				got++
			}
		}
		if got < n {
			return errorf("%d of %d requests sent since %s", got, n, since.Format(time.StampMilli))
		}
		return nil
	})
}

func (l *loadRun) end() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

// between returns the share of each room among the successful requests
// started in [from, to), their count and the failed ones.
func (l *loadRun) between(from, to time.Time) (share map[string]float64, n, failed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	count := map[string]int{}
	for _, s := range l.samples {
		if s.start.Before(from) || !s.start.Before(to) {
			continue
		}
		if s.status != 200 {
			failed++
			continue
		}
		count[s.room]++
		n++
	}
	share = map[string]float64{}
	for r, c := range count {
		share[r] = float64(c) / float64(max(n, 1))
	}
	return share, n, failed
}

func roomsEdge(up []*roomUpstream, policy config.RoomsConfig, health *config.HealthConfig) config.Edge {
	var ins []config.InstanceConfig
	for _, u := range up {
		room, _, _ := strings.Cut(u.name, "-")
		ins = append(ins, config.InstanceConfig{Addr: u.addr, Room: room})
	}
	return config.Edge{
		Services: []config.ServiceConfig{{Name: "shop", Instances: ins, Rooms: &policy, Health: health}},
		Routes:   []config.RouteConfig{{Name: "shop", Path: "/shop", Service: "shop"}},
	}
}

// TestStagedRoomSwitchUnderLoad: three gateway nodes, two rooms, constant
// load; a staged switch bj → sh (10 %, 50 %, 100 %) moves the traffic on
// every node within 1 s of each step, with zero failed requests.
func TestStagedRoomSwitchUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("acceptance test under load")
	}
	up := []*roomUpstream{startRoomUpstream(t, "bj-1"), startRoomUpstream(t, "bj-2"), startRoomUpstream(t, "sh-1"), startRoomUpstream(t, "sh-2")}
	nodes := startRoomCluster(t, 3, roomsEdge(up, config.RoomsConfig{Weights: map[string]int{"bj": 100, "sh": 0}}, nil))
	load := startLoad(t, nodes, 3)

	// Watch when each node applies each step of the switch.
	var seenMu sync.Mutex
	seen := map[[2]int]time.Time{} // (node, step) → when the node applied it
	watchCtx, stopWatch := context.WithCancel(context.Background())
	var watchWG sync.WaitGroup
	for ni, n := range nodes {
		watchWG.Go(func() {
			for watchCtx.Err() == nil {
				if st, ok := n.g.RoomsStatus("shop"); ok && st.SwitchStep > 0 {
					seenMu.Lock()
					if _, ok := seen[[2]int{ni, st.SwitchStep}]; !ok {
						seen[[2]int{ni, st.SwitchStep}] = st.WeightsAt
					}
					seenMu.Unlock()
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	t.Cleanup(func() { stopWatch(); watchWG.Wait() })

	load.waitFor(t, 100) // the load runs before the switch starts
	sw := roomswitch.New(nodes[0].st, roomswitch.Options{OnDone: roomswitch.ToPolicy(edge.New(nodes[0].st, edge.Options{}))})
	rec, err := sw.Start(context.Background(), rooms.SwitchSpec{Service: "shop", Who: "test", Why: "move to sh",
		From: map[string]int{"bj": 100, "sh": 0}, To: map[string]int{"bj": 0, "sh": 100},
		Fractions: []float64{0.1, 0.5, 1}, Interval: config.Duration(3 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		r, _, err := sw.Get(context.Background(), "shop")
		if err != nil || r.State != rooms.SwitchDone {
			return errorf("switch %s not done yet: %v", rec.ID, err)
		}
		return nil
	})
	load.waitSince(t, time.Now().Add(50*time.Millisecond), 300) // measured after the last step
	load.end()
	stopWatch()
	watchWG.Wait()

	final, _, err := sw.Get(context.Background(), "shop")
	if err != nil {
		t.Fatal(err)
	}
	wantSh := []float64{0.1, 0.5, 1}
	for step := range final.Steps {
		started := final.Steps[step].StartedAt
		var lastApplied time.Time
		for ni := range nodes {
			at, ok := seen[[2]int{ni, step + 1}]
			if !ok {
				t.Fatalf("node %d never applied step %d", ni, step+1)
			}
			lag := at.Sub(started)
			t.Logf("step %d (sh %.0f %%): node %d applied it %v after it was taken", step+1, wantSh[step]*100, ni, lag.Round(time.Millisecond))
			if lag > time.Second {
				t.Errorf("node %d applied step %d %v after it was taken (> 1 s)", ni, step+1, lag)
			}
			if at.After(lastApplied) {
				lastApplied = at
			}
		}
		end := time.Now()
		if step+1 < len(final.Steps) {
			end = final.Steps[step+1].StartedAt
		}
		share, n, _ := load.between(lastApplied.Add(50*time.Millisecond), end)
		t.Logf("step %d: %d requests, sh share %.3f", step+1, n, share["sh"])
		switch want := wantSh[step]; {
		case n < 50:
			t.Errorf("step %d: only %d requests measured", step+1, n)
		case want == 1 && share["sh"] != 1:
			t.Errorf("after the last step every request must go to sh: %v", share)
		case want < 1 && (share["sh"] < want*0.5 || share["sh"] > min(want*1.5, want+0.15)):
			t.Errorf("step %d: sh share %.3f, want about %.2f", step+1, share["sh"], want)
		}
	}
	_, total, failed := load.between(time.Time{}, time.Now().Add(time.Hour))
	t.Logf("requests: %d, failed: %d", total, failed)
	if failed != 0 {
		t.Fatalf("%d of %d requests failed during the switch", failed, total)
	}
	for ni, n := range nodes {
		st, _ := n.g.RoomsStatus("shop")
		if st.Distribution["sh"] != 1 || st.Weights["sh"] != 100 || st.Weights["bj"] != 0 {
			t.Fatalf("node %d after the switch: %+v", ni, st)
		}
	}
	// The policy now holds the final weights, so a restart keeps them.
	d, _, err := edge.New(nodes[1].st, edge.Options{}).Get(context.Background())
	if err != nil || d.Services[0].Rooms.Weights["sh"] != 100 || d.Services[0].Rooms.Weights["bj"] != 0 {
		t.Fatalf("policy after the switch: %+v %v", d.Services[0].Rooms, err)
	}
}

// TestRoomFailoverUnderLoad: every instance of the active room dies under
// load; after the health detection window no request fails and the traffic
// is on the standby room; the instances come back and the traffic returns
// after the hysteresis period.
func TestRoomFailoverUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("acceptance test under load")
	}
	up := []*roomUpstream{startRoomUpstream(t, "bj-1"), startRoomUpstream(t, "bj-2"), startRoomUpstream(t, "sh-1"), startRoomUpstream(t, "sh-2")}
	const recoverAfter = 3 * time.Second
	nodes := startRoomCluster(t, 2, roomsEdge(up,
		config.RoomsConfig{Weights: map[string]int{"bj": 100, "sh": 0}, Priority: []string{"bj", "sh"}, RecoverAfter: config.Duration(recoverAfter)},
		&config.HealthConfig{Path: "/healthz", Interval: config.Duration(200 * time.Millisecond), Timeout: config.Duration(200 * time.Millisecond), Healthy: 2, Unhealthy: 2}))
	load := startLoad(t, nodes, 3)
	load.waitFor(t, 100)
	if share, n, _ := load.between(time.Time{}, time.Now()); share["bj"] != 1 || n == 0 {
		t.Fatalf("before the failure all traffic goes to bj: %v (%d requests)", share, n)
	}

	killed := time.Now()
	up[0].stop()
	up[1].stop()
	var failedOver time.Time
	testenv.Eventually(t, 5*time.Second, func() error {
		for ni, n := range nodes {
			if st, _ := n.g.RoomsStatus("shop"); st.Distribution["sh"] < 0.999 {
				return errorf("node %d not failed over: %v", ni, st.Distribution)
			}
		}
		failedOver = time.Now()
		return nil
	})
	detect := failedOver.Sub(killed)
	load.waitSince(t, failedOver, 300) // measured after the failover
	share, n, failedAfter := load.between(failedOver, time.Now())
	_, _, failedDuring := load.between(killed, failedOver)
	t.Logf("failover: every node sent all traffic to sh %v after the kill; requests failed during detection: %d, after: %d (of %d); sh share after: %.3f",
		detect.Round(time.Millisecond), failedDuring, failedAfter, n, share["sh"])
	if failedAfter != 0 || failedDuring != 0 {
		t.Fatalf("requests failed: %d during detection, %d after", failedDuring, failedAfter)
	}
	if share["sh"] != 1 {
		t.Fatalf("after failover all traffic goes to sh: %v", share)
	}
	st, _ := nodes[0].g.RoomsStatus("shop")
	if len(st.Events) == 0 || st.Events[0].Kind != rooms.EventDegraded || st.Events[0].Room != "bj" {
		t.Fatalf("failover events: %+v", st.Events)
	}

	restarted := time.Now()
	up[0].start(t)
	up[1].start(t)
	var back time.Time
	// The health checks must see the restarted upstreams up for the whole
	// hysteresis on every node; a machine busy with other tests delays
	// the checks, so the bound is generous (the order is what is checked).
	testenv.Eventually(t, recoverAfter+30*time.Second, func() error {
		for ni, n := range nodes {
			if st, _ := n.g.RoomsStatus("shop"); st.Distribution["bj"] < 0.999 {
				return errorf("node %d: traffic not back on bj: %v", ni, st.Distribution)
			}
		}
		back = time.Now()
		return nil
	})
	load.waitSince(t, back.Add(100*time.Millisecond), 100) // measured after the recovery
	load.end()
	early, _, _ := load.between(restarted, restarted.Add(recoverAfter-500*time.Millisecond))
	late, n, _ := load.between(back.Add(100*time.Millisecond), time.Now())
	_, total, failed := load.between(time.Time{}, time.Now().Add(time.Hour))
	t.Logf("recovery: traffic back on bj %v after the restart (hysteresis %v); bj share before the hysteresis ended %.3f, after %.3f (%d requests); failed %d of %d in all",
		back.Sub(restarted).Round(time.Millisecond), recoverAfter, early["bj"], late["bj"], n, failed, total)
	if early["bj"] != 0 {
		t.Fatalf("traffic returned to bj before the hysteresis period: %v", early)
	}
	if back.Sub(restarted) < recoverAfter {
		t.Fatalf("traffic returned %v after the restart, before the %v hysteresis", back.Sub(restarted), recoverAfter)
	}
	if late["bj"] != 1 || failed != 0 {
		t.Fatalf("after recovery: share %v, %d failed", late, failed)
	}
	st, _ = nodes[1].g.RoomsStatus("shop")
	for _, e := range st.Events {
		t.Logf("event at +%v: %s", e.At.Sub(killed).Round(time.Millisecond), e)
	}
	if last := st.Events[len(st.Events)-1]; last.Kind != rooms.EventRecovered || last.Room != "bj" {
		t.Fatalf("last event %+v", last)
	}
}

// TestStickyRoomsKeepAClientInItsRoom: with a sticky policy each client
// (by its real IP) stays in one room while the clients as a whole are
// spread over both.
func TestStickyRoomsKeepAClientInItsRoom(t *testing.T) {
	up := []*roomUpstream{startRoomUpstream(t, "bj-1"), startRoomUpstream(t, "sh-1")}
	n := startEdge(t, roomsEdge(up, config.RoomsConfig{Weights: map[string]int{"bj": 50, "sh": 50}, Sticky: true}, nil), true)
	rooms := map[string]int{}
	for c := range 40 {
		ip := fmt.Sprintf("198.51.100.%d", c+1)
		first := ""
		for range 5 {
			r := n.get(t, "/shop", ip)
			if r.Status != 200 {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			room, _, _ := strings.Cut(r.String(), "-")
			if first == "" {
				first = room
			} else if room != first {
				t.Fatalf("client %s moved from %s to %s", ip, first, room)
			}
		}
		rooms[first]++
	}
	if rooms["bj"] < 8 || rooms["sh"] < 8 {
		t.Fatalf("40 clients over two equal rooms: %v", rooms)
	}
}
