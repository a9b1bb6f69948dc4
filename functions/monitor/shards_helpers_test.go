package monitor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/leases"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/redisstore"
	"github.com/wharfhq/wharf/internal/testenv"
)

// cluster is one Redis and one nsqd shared by several monitor nodes, each
// a monitor function, its series writer (sharing the shards through
// leases) and a gateway.
type cluster struct {
	redis  *testenv.Redis
	nsqd   *testenv.NSQD
	st     store.Store
	tokens map[string]string
}

const clusterShards = 4

// clusterTTL is the lease TTL of the package tests (the e2e test of
// cmd/wharf runs the default).
const clusterTTL = 3 * time.Second

func newCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{redis: testenv.StartRedis(t), nsqd: testenv.StartNSQD(t)}
	c.st = c.openStore(t)
	svc := auth.NewService(c.st)
	ctx := context.Background()
	admin, err := svc.Bootstrap(ctx, filepath.Join(t.TempDir(), "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	c.tokens = map[string]string{"admin": admin}
	for name, scope := range map[string]string{"ingest": auth.ScopeIngest, "agent": auth.ScopeAgent, "team": auth.TeamScope("shop")} {
		_, tok, err := svc.Create(ctx, auth.CreateRequest{Name: name, Scopes: []string{scope}})
		if err != nil {
			t.Fatal(err)
		}
		c.tokens[name] = tok
	}
	return c
}

func (c *cluster) openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := redisstore.Open(context.Background(), redisstore.Options{Addr: c.redis.Addr, Namespace: "wharf"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// node is one monitor node of a cluster.
type node struct {
	id     string
	addr   string
	st     store.Store // its own connection, so that it can be cut off
	writer *monitor.Writer
	set    *metrics.Set
	cancel context.CancelFunc
	done   chan error
}

// startNode starts a node with its own store connection; dir keeps its
// series (a restarted node passes the same).
func (c *cluster) startNode(t *testing.T, id, dir string) *node {
	t.Helper()
	n := &node{id: id, st: c.openStore(t), set: metrics.NewSet(), done: make(chan error, 1)}
	prod, err := bus.NewProducer(bus.ProducerOptions{Addrs: []string{c.nsqd.Addr}, PublishTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prod.Close() })
	n.writer, err = monitor.NewWriter(monitor.WriterOptions{Dir: dir, Shards: clusterShards, NSQDAddrs: []string{c.nsqd.Addr},
		Store: n.st, NodeID: id, URL: func() string { return "http://" + n.addr }, LeaseTTL: clusterTTL, Metrics: n.set})
	if err != nil {
		t.Fatal(err)
	}
	fn, err := monitor.New(monitor.Options{Publisher: prod, Shards: clusterShards, Series: n.writer, Store: n.st, Metrics: n.set,
		MaxQueryValues: clusterMaxValues})
	if err != nil {
		t.Fatal(err)
	}
	mux := fnapi.NewMux(auth.NewService(n.st), nil)
	if err := mux.Register(fn); err != nil {
		t.Fatal(err)
	}
	n.addr = gatewaytest.Start(t, gateway.Options{}, mux).Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go func() { n.done <- n.writer.Run(ctx) }()
	t.Cleanup(n.stop)
	return n
}

// startGateway starts a node that stores no series (a gateway role): it
// ingests and forwards every query to the shards' owners.
func (c *cluster) startGateway(t *testing.T) *node {
	t.Helper()
	n := &node{id: "gateway", st: c.openStore(t), set: metrics.NewSet()}
	prod, err := bus.NewProducer(bus.ProducerOptions{Addrs: []string{c.nsqd.Addr}, PublishTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prod.Close() })
	fn, err := monitor.New(monitor.Options{Publisher: prod, Shards: clusterShards, Store: n.st, Metrics: n.set, MaxQueryValues: clusterMaxValues})
	if err != nil {
		t.Fatal(err)
	}
	mux := fnapi.NewMux(auth.NewService(n.st), nil)
	if err := mux.Register(fn); err != nil {
		t.Fatal(err)
	}
	n.addr = gatewaytest.Start(t, gateway.Options{}, mux).Addr().String()
	return n
}

// stop stops the node's writer (its leases are released when its store
// still answers) and waits for it.
func (n *node) stop() {
	n.cancel()
	<-n.done
	n.done <- nil // a second stop returns at once
}

func (c *cluster) do(t *testing.T, n *node, method, path, who, body string, hdr ...string) gatewaytest.Response {
	t.Helper()
	h := map[string]string{}
	if who != "" {
		h["Authorization"] = "Bearer " + c.tokens[who]
	}
	if body != "" {
		h["Content-Type"] = "application/json"
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		h[hdr[i]] = hdr[i+1]
	}
	return gatewaytest.Do(t, n.addr, method, path, h, body)
}

// holders returns shard -> holding node ID.
func (c *cluster) holders(t *testing.T) map[int]string {
	t.Helper()
	h, err := leases.Holders(context.Background(), c.st, wire.SeriesLeasePrefix, clusterShards)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]string{}
	for i, v := range h {
		var o wire.SeriesOwner
		if err := json.Unmarshal(v, &o); err != nil {
			t.Fatalf("lease %d: %q: %v", i, v, err)
		}
		out[i] = o.Node
	}
	return out
}

// waitSplit waits until every shard is held, each of nodes holds its
// even share, and the writers agree with the leases.
func (c *cluster) waitSplit(t *testing.T, timeout time.Duration, nodes ...*node) {
	t.Helper()
	testenv.Eventually(t, timeout, func() error {
		h := c.holders(t)
		if len(h) != clusterShards {
			return fmt.Errorf("leases %v", h)
		}
		for _, n := range nodes {
			var want []int
			for s, id := range h {
				if id == n.id {
					want = append(want, s)
				}
			}
			slices.Sort(want)
			share := (clusterShards + len(nodes) - 1) / len(nodes)
			if len(want) == 0 || len(want) > share || !slices.Equal(want, n.writer.Shards()) {
				return fmt.Errorf("leases %v, %s stores %v", h, n.id, n.writer.Shards())
			}
		}
		return nil
	})
}

// pushAll pushes GAUGE points of every endpoint ep-0..ep-(n-1) at ts-60
// and ts to node (rrd knows the value of (ts-60, ts] from both).
func (c *cluster) pushAll(t *testing.T, to *node, n int, ts int64, value float64) {
	t.Helper()
	var items []string
	for i := range n {
		ep := fmt.Sprintf("ep-%d", i)
		items = append(items, item(ep, "load", ts-60, 60, value, "GAUGE", "app=shop"), item(ep, "load", ts, 60, value, "GAUGE", "app=shop"))
	}
	if r := c.do(t, to, "POST", "/v1/push", "ingest", array(items...)); r.Status != 200 {
		t.Fatalf("push: %d %s", r.Status, r.Body)
	}
}

// queryAll asks node for every series ep-0..ep-(n-1) in one POST.
func (c *cluster) queryAll(t *testing.T, n *node, eps int, start, end int64) (monitor.QueryReply, gatewaytest.Response) {
	t.Helper()
	q := monitor.QueryRequest{Start: start, End: end}
	for i := range eps {
		q.Series = append(q.Series, monitor.SeriesRef{Endpoint: fmt.Sprintf("ep-%d", i), Metric: "load", Tags: "app=shop"})
	}
	b, _ := json.Marshal(q)
	r := c.do(t, n, "POST", "/api/v1/metrics/query", "admin", string(b))
	var rep monitor.QueryReply
	if r.Status == 200 {
		rep = decode[monitor.QueryReply](t, r)
	}
	return rep, r
}

// valueAtAll checks that every series of rep has value at ts and returns
// the nodes that answered.
func valueAtAll(rep monitor.QueryReply, ts int64, value float64) (map[string]int, error) {
	nodes := map[string]int{}
	for _, s := range rep.Series {
		if !s.Found {
			return nil, fmt.Errorf("%s not found (node %q)", s.Endpoint, s.Node)
		}
		ok := false
		for _, v := range s.Values {
			if v.Timestamp == ts && float64(v.Value) == value {
				ok = true
			}
		}
		if !ok {
			return nil, fmt.Errorf("%s has no %v at %d (node %s)", s.Endpoint, value, ts, s.Node)
		}
		nodes[s.Node]++
	}
	return nodes, nil
}

// shardList is the header value naming shards.
func shardList(shards []int) string {
	parts := make([]string, len(shards))
	for i, s := range shards {
		parts[i] = fmt.Sprint(s)
	}
	return strings.Join(parts, ",")
}
