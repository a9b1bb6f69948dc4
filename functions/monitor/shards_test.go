package monitor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/testenv"
)

const clusterSeries = 40

// clusterMaxValues is the nodes' MaxQueryValues: 40 series × 11 points
// of a 10-minute query fit, 40 × 61 of an hour do not, while the part of
// one owner (of 2 nodes, unless it holds more than 32 of the series) does.
const clusterMaxValues = 2000

// TestShardsSplitAndQueriesFromAnyNode: two nodes split the shards by
// leases; points pushed to A for every shard are stored by the owners;
// a query, the series index and a backtest through either node, or a
// node storing no series (a gateway), give every series, naming the node
// that read each.
func TestShardsSplitAndQueriesFromAnyNode(t *testing.T) {
	c := newCluster(t)
	a := c.startNode(t, "node-a", t.TempDir())
	b := c.startNode(t, "node-b", t.TempDir())
	gw := c.startGateway(t)
	c.waitSplit(t, 20*time.Second, a, b)

	ts := time.Now().Unix() / 60 * 60
	c.pushAll(t, a, clusterSeries, ts, 7)
	for _, via := range []*node{a, b, gw} {
		testenv.Eventually(t, 15*time.Second, func() error {
			rep, r := c.queryAll(t, via, clusterSeries, ts-600, ts+60)
			if r.Status != 200 {
				return fmt.Errorf("query via %s: %d %s", via.id, r.Status, r.Body)
			}
			nodes, err := valueAtAll(rep, ts, 7)
			if err != nil {
				return err
			}
			if nodes[a.id] == 0 || nodes[b.id] == 0 || len(nodes) != 2 {
				return fmt.Errorf("answered by %v", nodes)
			}
			return nil
		})
	}

	// The index pages across both owners: every series once, in key order.
	for _, via := range []*node{a, b, gw} {
		var keys []string
		byNode := map[string]int{}
		after := ""
		for page := 0; ; page++ {
			if page > clusterSeries {
				t.Fatal("series listing does not end")
			}
			r := c.do(t, via, "GET", "/api/v1/metrics/series?metric=load&limit=7&after="+after, "admin", "")
			if r.Status != 200 {
				t.Fatalf("series via %s: %d %s", via.id, r.Status, r.Body)
			}
			rep := decode[monitor.SeriesReply](t, r)
			for _, s := range rep.Series {
				keys = append(keys, s.Endpoint+"/"+s.Metric+"/"+s.Tags)
				byNode[s.Node]++
			}
			if rep.Next == "" {
				break
			}
			after = rep.Next
		}
		if len(keys) != clusterSeries || !slices.IsSorted(keys) || len(slices.Compact(slices.Clone(keys))) != clusterSeries {
			t.Fatalf("series via %s: %d keys, sorted %v: %v", via.id, len(keys), slices.IsSorted(keys), keys)
		}
		if byNode[a.id] == 0 || byNode[b.id] == 0 {
			t.Fatalf("series via %s listed by %v", via.id, byNode)
		}
	}
	if got := a.set.GetOrCreateCounter(`wharf_monitor_forwarded_queries_total{route="query",result="ok"}`).Get(); got == 0 {
		t.Error("node a forwarded no query")
	}

	// A backtest reads the series of every owner.
	draft := fmt.Sprintf(`{"strategy":{"metric":"load","tags":{"app":"shop"},"func":"all(#1)","operator":">","right_value":5,"max_step":1,"priority":2},"start":%d,"end":%d}`, ts-600, ts+60)
	for _, via := range []*node{a, gw} {
		r := c.do(t, via, "POST", "/api/v1/strategies/test", "admin", draft)
		if r.Status != 200 {
			t.Fatalf("backtest via %s: %d %s", via.id, r.Status, r.Body)
		}
		rep := decode[monitor.BacktestReply](t, r)
		endpoints := map[string]bool{}
		for _, e := range rep.Events {
			endpoints[e.Endpoint] = true
		}
		if rep.Series != clusterSeries || len(endpoints) != clusterSeries {
			t.Fatalf("backtest via %s: %d series, events for %d endpoints", via.id, rep.Series, len(endpoints))
		}
	}

	// 40 series × 60 points are more than MaxQueryValues together though
	// each owner's part is less: the forwarding node sums them.
	_, r := c.queryAll(t, a, clusterSeries, ts-3600, ts)
	if r.Status != 400 {
		t.Fatalf("40 series × 60 points: %d (%d bytes), want 400", r.Status, len(r.Body))
	}
	wantError(t, r, 400, "narrow start and end, raise step, or ask for fewer series")
}

// TestShardsMoveWhenANodeStops: B stops cleanly (leases released) → A
// holds every shard at once; a restarted B gets its own shards back;
// then B is cut off from the store and stopped without releasing → A
// takes its shards once the leases expire, well within 15 s. Each time
// new points land on A and are queryable.
func TestShardsMoveWhenANodeStops(t *testing.T) {
	c := newCluster(t)
	a := c.startNode(t, "node-a", t.TempDir())
	bDir := t.TempDir()
	b := c.startNode(t, "node-b", bDir)
	c.waitSplit(t, 20*time.Second, a, b)
	bShards := b.writer.Shards()

	ts := time.Now().Unix()/60*60 - 600
	check := func(via *node, ts int64, value float64, want map[string]bool) {
		t.Helper()
		testenv.Eventually(t, 15*time.Second, func() error {
			rep, r := c.queryAll(t, via, clusterSeries, ts-600, ts+60)
			if r.Status != 200 {
				return fmt.Errorf("query: %d %s", r.Status, r.Body)
			}
			nodes, err := valueAtAll(rep, ts, value)
			if err != nil {
				return err
			}
			for n := range nodes {
				if !want[n] {
					return fmt.Errorf("answered by %v", nodes)
				}
			}
			return nil
		})
	}

	b.stop()
	start := time.Now()
	c.waitSplit(t, 15*time.Second, a)
	t.Logf("clean stop: a holds every shard %v after", time.Since(start).Round(10*time.Millisecond))
	c.pushAll(t, a, clusterSeries, ts, 1)
	check(a, ts, 1, map[string]bool{a.id: true})

	// B back on its disk: the shards it stored before are its again.
	b = c.startNode(t, "node-b", bDir)
	c.waitSplit(t, 20*time.Second, a, b)
	if got := b.writer.Shards(); !slices.Equal(got, bShards) {
		t.Errorf("restarted b stores %v, before %v", got, bShards)
	}

	// B cut off from the store, then gone without releasing its leases.
	if err := b.st.Close(); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 2*clusterTTL, func() error {
		if s := b.writer.Shards(); len(s) != 0 {
			return fmt.Errorf("b cut off still stores %v", s)
		}
		return nil
	})
	// It stopped writing before its leases expired: nobody else can
	// have written its shards meanwhile.
	stillB := 0
	for _, id := range c.holders(t) {
		if id == b.id {
			stillB++
		}
	}
	if stillB == 0 {
		t.Error("b's leases had expired before b stopped writing its shards")
	}
	b.stop()
	if got := b.set.GetOrCreateCounter(`wharf_monitor_shard_lease_changes_total{change="lost"}`).Get(); got != uint64(len(bShards)) {
		t.Errorf("b lost %d leases, want %d", got, len(bShards))
	}
	start = time.Now()
	c.waitSplit(t, 15*time.Second, a)
	t.Logf("killed: a holds every shard %v after", time.Since(start).Round(10*time.Millisecond))
	c.pushAll(t, a, clusterSeries, ts+60, 2)
	check(a, ts+60, 2, map[string]bool{a.id: true})
	if got := a.set.GetOrCreateCounter(`wharf_monitor_shard_lease_changes_total{change="taken"}`).Get(); got < uint64(clusterShards+len(bShards)) {
		t.Errorf("a took %d leases", got)
	}
}

// TestShardsForwardingAuthorization: the forwarding header does not get
// around authorization, makes a node answer from its own shards only
// (503 naming the shard, never a loop), and an owner that cannot be
// reached is a 503 naming the shard, not a partial answer.
func TestShardsForwardingAuthorization(t *testing.T) {
	c := newCluster(t)
	a := c.startNode(t, "node-a", t.TempDir())
	b := c.startNode(t, "node-b", t.TempDir())
	c.waitSplit(t, 20*time.Second, a, b)
	ts := time.Now().Unix() / 60 * 60
	c.pushAll(t, a, clusterSeries, ts, 3)
	testenv.Eventually(t, 15*time.Second, func() error {
		rep, r := c.queryAll(t, b, clusterSeries, ts-600, ts+60)
		if r.Status != 200 {
			return fmt.Errorf("%d %s", r.Status, r.Body)
		}
		_, err := valueAtAll(rep, ts, 3)
		return err
	})

	local := []string{wire.LocalShardsHeader, "0,1,2,3"}
	for _, path := range []string{"/api/v1/metrics/query?endpoint=ep-0&metric=load&tags=app=shop", "/api/v1/metrics/series"} {
		// A team reads its series (tags app=shop): the header narrows its
		// answer exactly as it narrows the admin's, and grants nothing.
		adminStatus := c.do(t, a, "GET", path, "admin", "", local...).Status
		for who, want := range map[string]int{"": 401, "ingest": 403, "agent": 403, "team": adminStatus} {
			r := c.do(t, a, "GET", path, who, "", local...)
			if r.Status != want {
				t.Errorf("%s as %q with %s: %d %s, want %d", path, who, wire.LocalShardsHeader, r.Status, r.Body, want)
			}
			gatewaytest.NoSecrets(t, r)
		}
	}
	// Admin with the header: a's own shards only.
	r := c.do(t, a, "GET", "/api/v1/metrics/series", "admin", "", local...)
	wantError(t, r, 503, "is not stored on this node")
	r = c.do(t, a, "GET", "/api/v1/metrics/series", "admin", "", wire.LocalShardsHeader, "x")
	wantError(t, r, 400, wire.LocalShardsHeader)
	aShards := a.writer.Shards()
	r = c.do(t, a, "GET", "/api/v1/metrics/series?limit=1000", "admin", "", wire.LocalShardsHeader, shardList(aShards))
	if r.Status != 200 {
		t.Fatalf("a's shards: %d %s", r.Status, r.Body)
	}
	for _, s := range decode[monitor.SeriesReply](t, r).Series {
		if s.Node != a.id {
			t.Errorf("a's own listing has %+v", s)
		}
	}
	draft := `{"strategy":{"metric":"load","func":"all(#1)","operator":">","right_value":5,"max_step":1,"priority":2}}`
	r = c.do(t, a, "POST", "/api/v1/strategies/test", "admin", draft, local...)
	wantError(t, r, 503, "is not stored on this node")
	// A team's draft not bound to its series is refused before any read
	// (400 naming the field); a bound one is narrowed like the admin's.
	for who, want := range map[string]int{"": 401, "ingest": 403, "agent": 403, "team": 400} {
		if r := c.do(t, a, "POST", "/api/v1/strategies/test", who, draft, local...); r.Status != want {
			t.Errorf("backtest as %q with %s: %d %s, want %d", who, wire.LocalShardsHeader, r.Status, r.Body, want)
		}
	}
	bound := `{"strategy":{"metric":"load","tags":{"app":"shop"},"func":"all(#1)","operator":">","right_value":5,"max_step":1,"priority":2}}`
	wantError(t, c.do(t, a, "POST", "/api/v1/strategies/test", "team", bound, local...), 503, "is not stored on this node")
	var remoteEP string
	for i := range clusterSeries {
		ep := fmt.Sprintf("ep-%d", i)
		r := c.do(t, a, "GET", "/api/v1/metrics/query?metric=load&tags=app=shop&endpoint="+ep, "admin", "", wire.LocalShardsHeader, "1")
		if r.Status == 503 {
			remoteEP = ep
			wantError(t, r, 503, "is not stored on this node")
			break
		}
	}
	if remoteEP == "" {
		t.Fatal("no series of b's shards answered 503 on a with the header")
	}

	// An owner that cannot be reached: b's lease of one shard is made to
	// point at a closed port (b loses it at its next renewal; the record
	// lives for a minute).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	_ = l.Close()
	bShard := b.writer.Shards()[0]
	rec, _ := json.Marshal(wire.SeriesOwner{Node: "node-gone", URL: dead})
	if _, err := c.st.Put(context.Background(), wire.SeriesLeasePrefix+fmt.Sprint(bShard), rec, store.PutOptions{TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("series shards [%d] are stored on node node-gone", bShard)
	testenv.Eventually(t, 10*time.Second, func() error {
		if slices.Contains(b.writer.Shards(), bShard) {
			return fmt.Errorf("b still stores %d", bShard)
		}
		return nil
	})
	_, r = c.queryAll(t, a, clusterSeries, ts-600, ts+60)
	wantError(t, r, 503, want)
	r = c.do(t, a, "GET", "/api/v1/metrics/series", "admin", "")
	wantError(t, r, 503, want)
	if strings.Contains(string(r.Body), c.tokens["admin"]) {
		t.Fatal("token in the error")
	}
	if got := a.set.GetOrCreateCounter(`wharf_monitor_forwarded_queries_total{route="series",result="error"}`).Get(); got == 0 {
		t.Error("no forwarding error counted")
	}
}
