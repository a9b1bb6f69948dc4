package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestStrategyShardsThroughServe: `wharf strategy shards` shows serve's
// judge holding every shard, as a table and as JSON; only admins may ask.
func TestStrategyShardsThroughServe(t *testing.T) {
	dir := t.TempDir()
	args := append(serveArgs(t), "--agent-local=false")
	p := startWharf(t, dir, nil, args...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	admin := p.waitFor(reToken, 5*time.Second)[1]
	c := cli{t: t, dir: dir, env: []string{"WHARF_SERVER=" + gw}}

	var rep monitor.ShardsReply
	testenv.Eventually(t, 20*time.Second, func() error {
		out, errOut, code := runWharf(t, dir, c.env, "strategy", "shards", "-o", "json")
		if code != 0 {
			return fmt.Errorf("exit %d: %s", code, errOut)
		}
		rep = monitor.ShardsReply{}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			return err
		}
		if len(rep.Roles) != 2 || len(rep.Roles[0].Unowned) != 0 || len(rep.Roles[0].Members) != 1 {
			return fmt.Errorf("not settled: %s", out)
		}
		return nil
	})
	js := rep.Roles[0]
	node := js.Members[0].Node
	if js.Role != "judge" || js.Shards != 8 || len(js.Leases) != 8 || js.Members[0].Shards != 8 {
		t.Fatalf("shards %+v", js)
	}
	for _, l := range js.Leases {
		if l.Owner != node || l.ExpiresAt == nil || !l.ExpiresAt.After(rep.Time) {
			t.Fatalf("lease %+v of %s at %v", l, node, rep.Time)
		}
	}
	// serve's series writer stores every shard itself, without leases.
	ws := rep.Roles[1]
	if ws.Role != "series" || len(ws.Unowned) != 0 || len(ws.Members) != 1 || ws.Members[0].Shards != 8 {
		t.Fatalf("series shards %+v", ws)
	}
	for _, l := range ws.Leases {
		if l.Owner != ws.Members[0].Node || l.ExpiresAt != nil {
			t.Fatalf("series shard %+v", l)
		}
	}
	out := c.ok("strategy", "shards")
	wantLines(t, "strategy shards", out, "judge: 8 shards, 1 live node(s), every shard owned", "NODE", "SHARDS", "EXPIRES",
		"SHARD", "OWNER", "LEASE EXPIRES", node, "in ", "series: 8 shards, 1 live node(s), every shard owned")
	if n := strings.Count(out, node); n != 18 {
		t.Fatalf("node %s appears %d times, want 18 (member + 8 leases, for the judge and the series):\n%s", node, n, out)
	}

	// Admin only.
	r := call(t, "POST", gw+"/api/v1/tokens", admin, map[string]any{"name": "shop", "scopes": []string{"team:shop"}})
	if r.status != 201 {
		t.Fatalf("create team token: %d %s", r.status, r.raw)
	}
	c.with("WHARF_TOKEN="+r.body["token"].(string)).fails("HTTP 403", "strategy", "shards")
	c.fails("HTTP 401", "strategy", "shards", "--token", "nope")

	// A new serve on the same data dir owns every shard again.
	if code := p.stop(15 * time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.errOut())
	}
	p = startWharf(t, dir, nil, args...)
	gw = p.waitFor(reGateway, 30*time.Second)[1]
	c = cli{t: t, dir: dir, env: []string{"WHARF_SERVER=" + gw}}
	testenv.Eventually(t, 20*time.Second, func() error {
		if out, _, _ := runWharf(t, dir, c.env, "strategy", "shards"); !strings.Contains(out, "every shard owned") {
			return fmt.Errorf("after restart: %s", out)
		}
		return nil
	})
	if code := p.stop(15 * time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.errOut())
	}
}
