package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/leases"
	"github.com/wharfhq/wharf/internal/store/redisstore"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestFunctionsRolesShareSeriesShards: two `wharf functions` processes
// split the series shards through leases in Redis; a Falcon push through
// one node's gateway is stored by both, and a query (also through a
// `wharf gateway`, which stores none) and the series index
// (HTTP and `wharf metrics`) and a backtest (`wharf strategy test`)
// through the other give every series, naming the node that read it. One node is SIGKILLed: the other holds every
// shard within 15 s, and new points land on it and are queryable.
func TestFunctionsRolesShareSeriesShards(t *testing.T) {
	redis, nsqd, minio := testenv.StartRedis(t), testenv.StartNSQD(t), testenv.StartMinIO(t)
	ctx := context.Background()
	st, err := redisstore.Open(ctx, redisstore.Options{Addr: redis.Addr, Namespace: "wharf"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	const shards = 4
	env := []string{"WHARF_REDIS_ADDR=" + redis.Addr, "WHARF_NSQ_NSQD=" + nsqd.Addr, "WHARF_MONITORING_SHARDS=4",
		"WHARF_MINIO_ENDPOINT=" + minio.Addr, "WHARF_MINIO_ACCESS_KEY=" + minio.AccessKey, "WHARF_MINIO_SECRET_KEY=" + minio.SecretKey}
	dirA := t.TempDir()
	a := startWharf(t, dirA, env, roleArgs("functions")...)
	gwA := a.waitFor(reRoleHTTP, 60*time.Second)[1]
	admin := a.waitFor(reToken, 5*time.Second)[1]
	b := startWharf(t, t.TempDir(), env, roleArgs("functions")...)
	gwB := b.waitFor(reRoleHTTP, 60*time.Second)[1]

	// holders maps shard -> the URL its holder advertises.
	holders := func() map[int]string {
		h, err := leases.Holders(ctx, st, wire.SeriesLeasePrefix, shards)
		if err != nil {
			t.Fatal(err)
		}
		out := map[int]string{}
		for i, v := range h {
			var o wire.SeriesOwner
			if err := json.Unmarshal(v, &o); err != nil {
				t.Fatalf("lease %d: %q: %v", i, v, err)
			}
			out[i] = o.URL
		}
		return out
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		h := holders()
		per := map[string]int{}
		for _, u := range h {
			per[u]++
		}
		if len(h) != shards || per[gwA] != 2 || per[gwB] != 2 {
			return fmt.Errorf("leases %v (a %s, b %s)", h, gwA, gwB)
		}
		return nil
	})

	const series = 30
	push := func(gw string, ts int64, value float64) {
		t.Helper()
		var items []map[string]any
		for i := range series {
			for _, at := range []int64{ts - 60, ts} {
				items = append(items, map[string]any{"endpoint": fmt.Sprintf("web-%d", i), "metric": "cpu.busy", "timestamp": at,
					"step": 60, "value": value, "counterType": "GAUGE", "tags": "env=prod"})
			}
		}
		if r := call(t, "POST", gw+"/v1/push", admin, items); r.status != 200 || r.body["total"] != float64(2*series) {
			t.Fatalf("push to %s: %d %s", gw, r.status, r.raw)
		}
	}
	// query asks gw for every series and returns the nodes that answered.
	query := func(gw string, ts int64, value float64) (map[string]int, error) {
		q := monitor.QueryRequest{Start: ts - 600, End: ts + 60}
		for i := range series {
			q.Series = append(q.Series, monitor.SeriesRef{Endpoint: fmt.Sprintf("web-%d", i), Metric: "cpu.busy", Tags: "env=prod"})
		}
		r := call(t, "POST", gw+"/api/v1/metrics/query", admin, q)
		if r.status != 200 {
			return nil, fmt.Errorf("query through %s: %d %s", gw, r.status, r.raw)
		}
		var rep monitor.QueryReply
		if err := json.Unmarshal([]byte(r.raw), &rep); err != nil {
			return nil, err
		}
		nodes := map[string]int{}
		for _, s := range rep.Series {
			if !slices.ContainsFunc(s.Values, func(v monitor.Sample) bool { return v.Timestamp == ts && float64(v.Value) == value }) {
				return nil, fmt.Errorf("%s (node %q): no %v at %d", s.Endpoint, s.Node, value, ts)
			}
			nodes[s.Node]++
		}
		return nodes, nil
	}

	ts := time.Now().Unix()/60*60 - 300
	push(gwA, ts, 5)
	testenv.Eventually(t, 20*time.Second, func() error {
		nodes, err := query(gwB, ts, 5)
		if err == nil && len(nodes) != 2 {
			err = fmt.Errorf("answered by %v", nodes)
		}
		return err
	})
	// A gateway node stores no series: it forwards every query.
	g := startWharf(t, t.TempDir(), env, roleArgs("gateway")...)
	gwG := g.waitFor(reRoleHTTP, 60*time.Second)[1]
	testenv.Eventually(t, 20*time.Second, func() error {
		nodes, err := query(gwG, ts, 5)
		if err == nil && len(nodes) != 2 {
			err = fmt.Errorf("answered by %v", nodes)
		}
		return err
	})
	if r := call(t, "GET", gwB+"/api/v1/metrics/query?endpoint=web-0&metric=cpu.busy&tags=env=prod", "", nil); r.status != 401 {
		t.Fatalf("query without a token: %d %s", r.status, r.raw)
	}

	// The index through b, with the CLI: every series once, from both nodes.
	c := cli{t: t, dir: dirA, env: []string{"WHARF_SERVER=" + gwB, "WHARF_TOKEN=" + admin}}
	out := c.ok("metrics", "series", "--metric", "cpu.busy", "--limit", "1000", "-o", "json")
	var idx monitor.SeriesReply
	if err := json.Unmarshal([]byte(out), &idx); err != nil {
		t.Fatalf("metrics series -o json: %v: %s", err, out)
	}
	byNode := map[string]int{}
	for _, s := range idx.Series {
		byNode[s.Node]++
	}
	if len(idx.Series) != series || len(byNode) != 2 {
		t.Fatalf("metrics series: %d series by %v", len(idx.Series), byNode)
	}
	table := c.ok("metrics", "series", "--endpoint", "web-1")
	wantLines(t, "metrics series table", table, "NODE", "web-1", "cpu.busy")

	// A backtest through b replays the series of both nodes.
	draft := filepath.Join(dirA, "draft.json")
	if err := os.WriteFile(draft, []byte(`{"metric":"cpu.busy","tags":{"env":"prod"},"func":"all(#1)","operator":">","right_value":1,"max_step":1,"priority":3}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out = c.ok("strategy", "test", "-f", draft, "--from", fmt.Sprint(ts-600), "--to", fmt.Sprint(ts+60), "-o", "json")
	var bt monitor.BacktestReply
	if err := json.Unmarshal([]byte(out), &bt); err != nil || bt.Series != series || len(bt.Events) != series {
		t.Fatalf("strategy test through b: %v: %d series, %d events", err, bt.Series, len(bt.Events))
	}

	// SIGKILL a: b holds every shard within 15 s.
	_ = a.cmd.Process.Kill()
	a.wait(10 * time.Second)
	killed := time.Now()
	testenv.Eventually(t, 15*time.Second, func() error {
		h := holders()
		for i := range shards {
			if h[i] != gwB {
				return fmt.Errorf("leases %v", h)
			}
		}
		return nil
	})
	t.Logf("a's shards taken by b %v after the kill", time.Since(killed).Round(100*time.Millisecond))

	// New points, pushed through the gateway node, land on b (a moved
	// shard starts empty there).
	push(gwG, ts+120, 9)
	testenv.Eventually(t, 20*time.Second, func() error {
		nodes, err := query(gwB, ts+120, 9)
		if err == nil && len(nodes) != 1 {
			err = fmt.Errorf("answered by %v", nodes)
		}
		return err
	})
	if code := b.stop(10 * time.Second); code != 0 {
		t.Fatalf("b exit %d: %s", code, b.errOut())
	}
	if h := holders(); len(h) != 0 {
		t.Errorf("leases left after b's clean stop: %v", h)
	}
	if strings.Contains(b.errOut(), admin) {
		t.Error("b logged the admin token")
	}
}
