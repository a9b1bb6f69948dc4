package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestMetricsPushQuerySeriesThroughServe: a Falcon agent's push through
// the gateway of a real `wharf serve` with an ingest token, points pushed
// with `wharf metrics push`, read back with `wharf metrics query` and
// `wharf metrics series` (table and -o json), bad input refused with a
// clear message, and the series still there after a restart.
func TestMetricsPushQuerySeriesThroughServe(t *testing.T) {
	dir := t.TempDir()
	args := append(serveArgs(t), "--agent-local=false")
	p := startWharf(t, dir, nil, args...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	admin := p.waitFor(reToken, 5*time.Second)[1]
	internal := p.waitFor(reInternal, 5*time.Second)[1]

	r := call(t, "POST", gw+"/api/v1/tokens", admin, map[string]any{"name": "pusher", "scopes": []string{"ingest"}})
	if r.status != 201 {
		t.Fatalf("create ingest token: %d %s", r.status, r.raw)
	}
	ingest := r.body["token"].(string)

	// A Falcon agent pushes to /v1/push, unchanged: five minutes of a gauge.
	t0 := time.Now().Unix()/60*60 - 600
	var items []map[string]any
	for i := range 6 {
		items = append(items, map[string]any{"endpoint": "web-1", "metric": "cpu.busy", "timestamp": t0 + int64(i)*60,
			"step": 60, "value": 10 * i, "counterType": "GAUGE", "tags": "env=prod,core=0"})
	}
	items = append(items, map[string]any{"endpoint": "", "metric": "x", "step": 60, "value": 1, "counterType": "GAUGE"})
	r = call(t, "POST", gw+"/v1/push", ingest, items)
	if r.status != 200 || r.body["message"] != "ok" || r.body["total"] != 7.0 || r.body["invalid"] != 1.0 {
		t.Fatalf("falcon push: %d %s", r.status, r.raw)
	}
	if r := call(t, "GET", gw+"/api/v1/metrics/series", ingest, nil); r.status != 403 {
		t.Fatalf("series with an ingest token: %d %s", r.status, r.raw)
	}

	c := cli{t: t, dir: dir, env: []string{"WHARF_SERVER=" + gw}}
	pusher := c.with("WHARF_TOKEN=" + ingest)
	out := pusher.ok("metrics", "push", "--endpoint", "db-1", "--metric", "disk.used", "--value", "0.5", "--tags", "mount=/data", "--timestamp", strconv.FormatInt(t0+300, 10))
	wantLines(t, "metrics push", out, "Pushed 1 item(s): 1 stored, 0 invalid")
	stdin := fmt.Sprintf(`[{"endpoint":"db-1","metric":"qps","timestamp":%d,"step":60,"value":"7","counterType":"GAUGE","tags":""},{"endpoint":"db-1","metric":"bad","step":60,"value":"x","counterType":"GAUGE"}]`, t0+300)
	sout, serr, code := runWharfStdin(t, dir, pusher.env, stdin, "metrics", "push", "-", "-o", "json")
	var rep monitor.PushReply
	if code != 0 || json.Unmarshal([]byte(sout), &rep) != nil || rep.Total != 2 || rep.Invalid != 1 {
		t.Fatalf("metrics push - -o json: exit %d %q %q", code, sout, serr)
	}

	// Query back through the CLI (admin token from the data dir).
	window := []string{"--from", strconv.FormatInt(t0, 10), "--to", strconv.FormatInt(t0+360, 10)}
	testenv.Eventually(t, 15*time.Second, func() error {
		out, _, _ := runWharf(t, dir, c.env, append([]string{"metrics", "query", "--endpoint", "web-1", "--metric", "cpu.busy", "--tags", "core=0,env=prod", "-o", "json"}, window...)...)
		var q monitor.QueryReply
		if err := json.Unmarshal([]byte(out), &q); err != nil || len(q.Series) != 1 || !q.Series[0].Found {
			return fmt.Errorf("query: %v %s", err, out)
		}
		for _, s := range q.Series[0].Values {
			if s.Timestamp == t0+300 && float64(s.Value) == 50 {
				return nil
			}
		}
		return fmt.Errorf("no 50 at %d: %s", t0+300, out)
	})
	table := c.ok(append([]string{"metrics", "query", "--endpoint", "web-1", "--metric", "cpu.busy", "--tags", "env=prod,core=0"}, window...)...)
	wantLines(t, "metrics query table", table, "TIME", "web-1/cpu.busy/core=0,env=prod", time.Unix(t0+300, 0).UTC().Format("2006-01-02 15:04:05Z"), "50", "-")
	testenv.Eventually(t, 15*time.Second, func() error {
		out, _, _ := runWharf(t, dir, c.env, "metrics", "series", "--endpoint", "db-1")
		if !strings.Contains(out, "disk.used") || !strings.Contains(out, "qps") {
			return fmt.Errorf("series: %s", out)
		}
		return nil
	})
	wantLines(t, "metrics series", c.ok("metrics", "series"), "ENDPOINT", "METRIC", "TAGS", "web-1", "cpu.busy", "core=0,env=prod", "GAUGE", "1m0s", "mount=/data")
	var sr monitor.SeriesReply
	if err := json.Unmarshal([]byte(c.ok("metrics", "series", "--limit", "1", "-o", "json")), &sr); err != nil || len(sr.Series) != 1 || sr.Next == "" {
		t.Fatalf("series --limit 1 -o json: %+v %v", sr, err)
	}
	wantLines(t, "series page", c.ok("metrics", "series", "--limit", "2"), "More: --after")

	// Bad input: clear messages, nothing stored.
	c.fails("--endpoint and --metric are required", "metrics", "query", "--endpoint", "web-1")
	c.fails("cf must be AVERAGE, MAX or MIN", "metrics", "query", "--endpoint", "web-1", "--metric", "m", "--cf", "last")
	c.fails("--from: want Unix seconds or a duration ago", "metrics", "query", "--endpoint", "web-1", "--metric", "m", "--from", "yesterday")
	pusher.fails("is not JSON", "metrics", "push", "/dev/null")
	c.fails("HTTP 401", "metrics", "push", "--endpoint", "h", "--metric", "m", "--value", "1", "--token", "nope")
	pusher.fails("HTTP 403", "metrics", "query", "--endpoint", "web-1", "--metric", "cpu.busy")
	_, serr, code = runWharfStdin(t, dir, pusher.env, `{"endpoint":"h"}`, "metrics", "push", "-")
	if code == 0 || !strings.Contains(serr, "body must be a JSON array") || !strings.Contains(serr, "HTTP 400") {
		t.Fatalf("push of an object: exit %d %q", code, serr)
	}

	// Counters on /metrics.
	m := call(t, "GET", internal+"/metrics", "", nil)
	wantLines(t, "/metrics", m.raw, "wharf_monitor_points_received_total 10", "wharf_monitor_points_invalid_total 2", "wharf_monitor_points_published_total 8")

	// A team token reads its team's series (tagged service=, app= or
	// team= with its name) and nothing else.
	r = call(t, "POST", gw+"/api/v1/tokens", admin, map[string]any{"name": "shop", "scopes": []string{"team:shop"}})
	if r.status != 201 {
		t.Fatalf("create team token: %d %s", r.status, r.raw)
	}
	shop := c.with("WHARF_TOKEN=" + r.body["token"].(string))
	for _, ts := range []int64{t0 + 240, t0 + 300} {
		pusher.ok("metrics", "push", "--endpoint", "web-1", "--metric", "orders", "--value", "3", "--tags", "team=shop,env=prod", "--timestamp", strconv.FormatInt(ts, 10))
	}
	testenv.Eventually(t, 15*time.Second, func() error {
		out, _, _ := runWharf(t, dir, shop.env, append([]string{"metrics", "query", "--endpoint", "web-1", "--metric", "orders", "--tags", "env=prod,team=shop"}, window...)...)
		if !strings.Contains(out, "  3\n") {
			return fmt.Errorf("team's series: %s", out)
		}
		return nil
	})
	teamSeries := shop.ok("metrics", "series")
	if strings.Contains(teamSeries, "cpu.busy") || strings.Contains(teamSeries, "db-1") {
		t.Fatalf("the team sees series not its own:\n%s", teamSeries)
	}
	wantLines(t, "team series", teamSeries, "web-1", "orders", "env=prod,team=shop")
	shop.fails(`may not read series "web-1/cpu.busy/core=0,env=prod"`, "metrics", "query", "--endpoint", "web-1", "--metric", "cpu.busy", "--tags", "core=0,env=prod")

	// The series survive a restart of serve.
	if code := p.stop(15 * time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.errOut())
	}
	p = startWharf(t, dir, nil, args...)
	gw = p.waitFor(reGateway, 30*time.Second)[1]
	c = cli{t: t, dir: dir, env: []string{"WHARF_SERVER=" + gw}}
	out = c.ok(append([]string{"metrics", "query", "--endpoint", "db-1", "--metric", "qps", "-o", "json"}, window...)...)
	var q monitor.QueryReply
	if err := json.Unmarshal([]byte(out), &q); err != nil || len(q.Series) != 1 || !q.Series[0].Found {
		t.Fatalf("query after restart: %v %s", err, out)
	}
	if code := p.stop(15 * time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.errOut())
	}
}
