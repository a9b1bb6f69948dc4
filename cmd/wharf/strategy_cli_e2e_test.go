package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/strategy"
)

// TestStrategyCLIThroughServe: a team creates, lists, shows, updates and
// deletes alarm strategies with `wharf strategy` against a real serve
// (table and -o json); another team sees none of them; an invalid file is
// refused naming the field; the strategies survive a restart.
func TestStrategyCLIThroughServe(t *testing.T) {
	dir := t.TempDir()
	args := append(serveArgs(t), "--agent-local=false")
	p := startWharf(t, dir, nil, args...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	admin := p.waitFor(reToken, 5*time.Second)[1]
	tokens := map[string]string{}
	for name, scope := range map[string]string{"shop": "team:shop", "bank": "team:bank"} {
		r := call(t, "POST", gw+"/api/v1/tokens", admin, map[string]any{"name": name, "scopes": []string{scope}})
		if r.status != 201 {
			t.Fatalf("create %s token: %d %s", name, r.status, r.raw)
		}
		tokens[name] = r.body["token"].(string)
	}
	c := cli{t: t, dir: dir, env: []string{"WHARF_SERVER=" + gw}}
	shop := c.with("WHARF_TOKEN=" + tokens["shop"])
	bank := c.with("WHARF_TOKEN=" + tokens["bank"])

	write := func(name, body string) string {
		path := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	cpu := write("cpu.json", `{"metric":"cpu.busy","tags":{"env":"prod","service":"shop"},"func":"all(#3)","operator":">","right_value":90,"max_step":3,"priority":2,"note":"cpu hot"}`)
	out := shop.ok("strategy", "create", "-f", cpu)
	wantLines(t, "create", out, "Created strategy s-", "(team shop): cpu.busy all(#3) > 90.")
	id := strings.Fields(strings.TrimPrefix(out, "Created strategy "))[0]

	disk := write("disk.json", `{"id":"shop-disk","endpoints":["db-*"],"metric":"disk.used","tags":{"app":"shop"},"func":"avg(#5)","operator":">=","right_value":0.9,"max_step":1,"priority":4}`)
	sout, serr, code := runWharf(t, dir, shop.env, "strategy", "create", "-f", disk, "-o", "json")
	var created strategy.Strategy
	if code != 0 || json.Unmarshal([]byte(sout), &created) != nil || created.ID != "shop-disk" || created.Team != "shop" {
		t.Fatalf("create -o json: exit %d %q %q", code, sout, serr)
	}

	// Bad input: the field is named, nothing is stored.
	bad := write("bad.json", `{"metric":"cpu.busy","func":"all(#3)","operator":">","right_value":90,"max_step":3,"priority":2,"recover":{"func":"sometimes(#2)","operator":"<","right_value":80}}`)
	shop.fails("recover.func", "strategy", "create", "-f", bad)
	shop.fails("is not JSON", "strategy", "create", "-f", write("junk.json", "metric: cpu"))
	shop.fails("already exists", "strategy", "create", "-f", disk)

	table := shop.ok("strategy", "list")
	wantLines(t, "list", table, "ID", "TEAM", "CONDITION", id, "shop-disk", "all(#3) > 90", "avg(#5) >= 0.9", "cpu hot")
	filtered := shop.ok("strategy", "list", "--metric", "disk.used", "-o", "json")
	var l monitor.StrategyList
	if err := json.Unmarshal([]byte(filtered), &l); err != nil || len(l.Strategies) != 1 || l.Strategies[0].ID != "shop-disk" {
		t.Fatalf("list --metric -o json: %v %s", err, filtered)
	}
	wantLines(t, "other team's list", bank.ok("strategy", "list"), "No strategies.")
	bank.fails(`strategy "shop-disk" not found`, "strategy", "show", "shop-disk")
	bank.fails(`strategy "shop-disk" not found`, "strategy", "delete", "shop-disk")

	wantLines(t, "show", shop.ok("strategy", "show", id), "cpu.busy", "all(#3)", "cpu hot", "shop")

	hotter := write("hotter.json", `{"metric":"cpu.busy","tags":{"service":"shop"},"func":"all(#3)","operator":">","right_value":95,"max_step":3,"priority":1}`)
	wantLines(t, "update", shop.ok("strategy", "update", id, "-f", hotter), "Updated strategy "+id+" (team shop): cpu.busy all(#3) > 95.")
	bank.fails("not found", "strategy", "update", id, "-f", hotter)
	wantLines(t, "delete", shop.ok("strategy", "delete", "shop-disk"), "Deleted strategy shop-disk.")
	shop.fails("not found", "strategy", "show", "shop-disk")

	// Backtest (admin): pushed points replayed through the stored strategy
	// and through a draft file.
	t0 := time.Now().Unix()/60*60 - 3600
	var items []map[string]any
	for i := range 16 {
		v := 100
		if i >= 13 {
			v = 10
		}
		items = append(items, map[string]any{"endpoint": "web-1", "metric": "cpu.busy", "timestamp": t0 + int64(i)*60,
			"step": 60, "value": v, "counterType": "GAUGE", "tags": "env=prod,service=shop"})
	}
	if r := call(t, "POST", gw+"/v1/push", admin, items); r.status != 200 {
		t.Fatalf("push: %d %s", r.status, r.raw)
	}
	window := []string{"--from", strconv.FormatInt(t0-60, 10), "--to", strconv.FormatInt(t0+16*60, 10)}
	testenv.Eventually(t, 15*time.Second, func() error {
		out, errOut, code := runWharf(t, dir, c.env, append([]string{"strategy", "test", id}, window...)...)
		if code != 0 || !strings.Contains(out, "OK") {
			return fmt.Errorf("strategy test: exit %d %s %s", code, out, errOut)
		}
		return nil
	})
	out = c.ok(append([]string{"strategy", "test", id}, window...)...)
	wantLines(t, "strategy test", out, "Replayed 1 series", "through "+id, "TIME", "STATUS", "PROBLEM", "web-1", "cpu.busy", "env=prod", "s_"+id+"_")
	draft := write("draft.json", `{"metric":"cpu.busy","func":"max(#2)","operator":"<","right_value":50,"max_step":1,"priority":5}`)
	sout, serr, code = runWharf(t, dir, c.env, append([]string{"strategy", "test", "-f", draft, "-o", "json"}, window...)...)
	var bt monitor.BacktestReply
	if code != 0 || json.Unmarshal([]byte(sout), &bt) != nil || bt.StrategyID != "draft" || len(bt.Events) != 1 || bt.Events[0].EventTime != t0+14*60 {
		t.Fatalf("strategy test -f draft -o json: exit %d %q %q", code, sout, serr)
	}
	// The team replays its own strategy; a draft not bound to its series is refused.
	wantLines(t, "team's strategy test", shop.ok(append([]string{"strategy", "test", id}, window...)...), "Replayed 1 series", "PROBLEM")
	bank.fails("not found", append([]string{"strategy", "test", id}, window...)...)
	shop.fails("strategy.tags: must hold service=shop, app=shop or team=shop", append([]string{"strategy", "test", "-f", draft}, window...)...)
	shop.fails("tags: must hold service=shop", "strategy", "create", "-f", draft)
	c.fails("strategy.recover.func", "strategy", "test", "-f", bad)

	// The admin sees it, and it survives a restart.
	if code := p.stop(15 * time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.errOut())
	}
	p = startWharf(t, dir, nil, args...)
	gw = p.waitFor(reGateway, 30*time.Second)[1]
	c = cli{t: t, dir: dir, env: []string{"WHARF_SERVER=" + gw}}
	var s strategy.Strategy
	if err := json.Unmarshal([]byte(c.ok("strategy", "show", id, "-o", "json")), &s); err != nil || s.RightValue != 95 || s.Team != "shop" {
		t.Fatalf("after restart: %v %+v", err, s)
	}
	if code := p.stop(15 * time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.errOut())
	}
}
