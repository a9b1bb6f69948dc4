package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	mwire "github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/redisstore"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/alarm"
	"github.com/wharfhq/wharf/monitoring/amroute"
	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/monitoring/receiver"
	"github.com/wharfhq/wharf/runner/notify"
)

// env is a real redis-server and nsqd, a producer and a store client of
// the test's own.
type env struct {
	t     *testing.T
	redis *testenv.Redis
	nsqd  *testenv.NSQD
	prod  *bus.Producer
	st    store.Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, redis: testenv.StartRedis(t), nsqd: testenv.StartNSQD(t)}
	p, err := bus.NewProducer(bus.ProducerOptions{Addrs: []string{e.nsqd.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	e.prod = p
	e.st = e.newStore()
	return e
}

func (e *env) newStore() store.Store {
	e.t.Helper()
	st, err := redisstore.Open(context.Background(), redisstore.Options{Addr: e.redis.Addr})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = st.Close() })
	return st
}

// node is one running notifier with its own store client.
type node struct {
	cancel context.CancelFunc
	st     store.Store
	done   chan error
	once   sync.Once
}

// stop ends the node as a shutdown does.
func (n *node) stop() { n.once.Do(func() { n.cancel(); <-n.done }) }

// kill ends the node without cleanup: its store connection is cut first,
// so its leases and in-flight claims stay behind as after a SIGKILL.
func (n *node) kill() { n.once.Do(func() { _ = n.st.Close(); n.cancel(); <-n.done }) }

// start runs a notifier; opts gets the store, nsqd and short test timings.
func (e *env) start(id string, opts notify.Options) *node {
	e.t.Helper()
	st := e.newStore()
	opts.Store, opts.NSQDAddrs, opts.NodeID = st, []string{e.nsqd.Addr}, id
	if opts.ScanInterval == 0 {
		opts.ScanInterval = 20 * time.Millisecond
	}
	if opts.LeaseTTL == 0 {
		opts.LeaseTTL = 300 * time.Millisecond
	}
	if opts.RetryMin == 0 {
		opts.RetryMin, opts.RetryMax = 10*time.Millisecond, 50*time.Millisecond
	}
	n, err := notify.New(opts)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	nd := &node{cancel: cancel, st: st, done: make(chan error, 1)}
	go func() { nd.done <- n.Run(ctx) }()
	e.t.Cleanup(nd.stop)
	return nd
}

// putJSON writes v under key.
func (e *env) putJSON(key string, v any) {
	e.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.st.Put(context.Background(), key, b, store.PutOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) putReceiver(r receiver.Receiver) {
	e.t.Helper()
	if _, err := receiver.Compile(r); err != nil {
		e.t.Fatal(err)
	}
	e.putJSON(wire.ReceiverKey(r.Team, r.Name), r)
}

func (e *env) putRoute(team string, c amroute.Config) {
	e.t.Helper()
	if _, err := amroute.Compile(c, nil); err != nil {
		e.t.Fatal(err)
	}
	e.putJSON(wire.RouteKey(team), amroute.Versioned{}.Next(c, "test", time.Now(), ""))
}

// publishEvents publishes judge events to the alarms topic.
func (e *env) publishEvents(evs ...event.Event) {
	e.t.Helper()
	var bodies [][]byte
	for _, ev := range evs {
		b, err := event.Marshal(ev)
		if err != nil {
			e.t.Fatal(err)
		}
		bodies = append(bodies, b)
	}
	if err := e.prod.MultiPublish(context.Background(), mwire.AlarmsTopic, bodies); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) claim(key string) wire.Claim {
	e.t.Helper()
	var c wire.Claim
	if ent, err := e.st.Get(context.Background(), wire.ClaimKey(key)); err == nil {
		_ = json.Unmarshal(ent.Value, &c)
	}
	return c
}

func (e *env) readCase(id string) alarm.Case {
	e.t.Helper()
	var c alarm.Case
	if ent, err := e.st.Get(context.Background(), wire.CaseKey(id)); err == nil {
		_ = json.Unmarshal(ent.Value, &c)
	}
	return c
}

// judgeEvent is a PROBLEM/OK event of case i of team shop at step.
func judgeEvent(i int, status event.Status, step int, at int64) event.Event {
	return event.Event{
		ID: fmt.Sprintf("s_7_%032x", i), Status: status, CurrentStep: step, EventTime: at,
		StrategyID: "7", Team: "shop", Endpoint: fmt.Sprintf("host%d", i), Metric: "cpu.idle",
		PushedTags: map[string]string{"app": "cart"}, Func: "all(#1)", Operator: "<", RightValue: 10, MaxStep: 3,
	}
}

// hook is a real HTTP receiver counting requests by Idempotency-Key.
type hook struct {
	srv *httptest.Server
	// failFirst fails the first n requests of every key with 503.
	failFirst int
	down      atomic.Bool // every request 503 while set

	mu       sync.Mutex
	requests map[string]int // by key, all
	ok       map[string]int // by key, answered 2xx
	payloads []receiver.Payload
	bodies   [][]byte
	headers  []http.Header
	// gate, when set, holds every request until it is closed.
	gate chan struct{}
}

func newHook(t *testing.T, failFirst int) *hook {
	h := &hook{failFirst: failFirst, requests: map[string]int{}, ok: map[string]int{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if h.gate != nil {
			<-h.gate
		}
		key := r.Header.Get(receiver.HeaderIdempotencyKey)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.requests[key]++
		if h.down.Load() || h.requests[key] <= h.failFirst {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		h.ok[key]++
		var p receiver.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("payload is not JSON: %v", err)
		}
		h.payloads = append(h.payloads, p)
		h.bodies = append(h.bodies, body)
		h.headers = append(h.headers, r.Header.Clone())
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// delivered is the number of keys answered 2xx and the largest count of
// 2xx answers of one key.
func (h *hook) delivered() (keys, maxPerKey int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range h.ok {
		maxPerKey = max(maxPerKey, n)
	}
	return len(h.ok), maxPerKey
}

func (h *hook) requestsOf(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.requests[key]
}

func storePut() store.PutOptions { return store.PutOptions{} }
