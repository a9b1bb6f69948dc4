package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

// TestSeriesSyncInterval: monitoring.series_sync_interval is a flag of
// serve (default 50ms) and a value out of 0..1s is refused naming the
// key; with it set, points pushed through serve are stored and
// queryable, and /metrics counts the fsyncs of the series logs the
// writer acknowledged batches after (wharf_monitor_series_syncs_total).
func TestSeriesSyncInterval(t *testing.T) {
	dir := t.TempDir()
	out, _, code := runWharf(t, dir, nil, "serve", "--help")
	if code != 0 || !strings.Contains(out, "--monitoring-series-sync-interval") || !strings.Contains(out, "(default 50ms)") {
		t.Fatalf("serve --help: %d, lacks --monitoring-series-sync-interval (default 50ms):\n%s", code, out)
	}
	for _, bad := range []string{"-1ms", "2s"} {
		_, errOut, code := runWharf(t, dir, nil, "serve", "--monitoring-series-sync-interval="+bad)
		if code == 0 || !strings.Contains(errOut, "monitoring.series_sync_interval must be 0 (after every group commit) to 1s, got "+bad) {
			t.Fatalf("--monitoring-series-sync-interval=%s: %d %s", bad, code, errOut)
		}
	}
	_, errOut, code := runWharf(t, dir, []string{"WHARF_MONITORING_SERIES_SYNC_INTERVAL=soon"}, "serve")
	if code == 0 || !strings.Contains(errOut, "WHARF_MONITORING_SERIES_SYNC_INTERVAL") {
		t.Fatalf("WHARF_MONITORING_SERIES_SYNC_INTERVAL=soon: %d %s", code, errOut)
	}

	p := startWharf(t, dir, []string{"WHARF_MONITORING_SERIES_SYNC_INTERVAL=200ms"}, append(serveArgs(t), "--agent-local=false")...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	internal := p.waitFor(reInternal, 5*time.Second)[1]
	admin := p.waitFor(reToken, 5*time.Second)[1]
	r := call(t, "POST", gw+"/api/v1/tokens", admin, map[string]any{"name": "pusher", "scopes": []string{"ingest"}})
	if r.status != 201 {
		t.Fatalf("create ingest token: %d %s", r.status, r.raw)
	}
	ingest := r.body["token"].(string)
	t0 := time.Now().Unix()/60*60 - 600
	var items []map[string]any
	for h := range 20 {
		for i := range 3 {
			items = append(items, map[string]any{"endpoint": fmt.Sprintf("db-%02d", h), "metric": "disk.busy",
				"timestamp": t0 + int64(i)*60, "step": 60, "value": h*10 + i, "counterType": "GAUGE"})
		}
	}
	if r := call(t, "POST", gw+"/v1/push", ingest, items); r.status != 200 || r.body["invalid"] != 0.0 {
		t.Fatalf("push: %d %s", r.status, r.raw)
	}
	syncs := regexp.MustCompile(`(?m)^wharf_monitor_series_syncs_total (\d+)$`)
	accepted := regexp.MustCompile(`(?m)^wharf_monitor_series_points_total\{result="accepted"\} (\d+)$`)
	testenv.Eventually(t, 20*time.Second, func() error {
		r := call(t, "GET", internal+"/metrics", "", nil)
		a, s := accepted.FindStringSubmatch(r.raw), syncs.FindStringSubmatch(r.raw)
		if a == nil || s == nil {
			return fmt.Errorf("/metrics: %d, no accepted points or syncs counter", r.status)
		}
		if n, _ := strconv.Atoi(a[1]); n < len(items) {
			return fmt.Errorf("%d of %d points stored", n, len(items))
		}
		if n, _ := strconv.Atoi(s[1]); n < 1 {
			return fmt.Errorf("%d fsyncs", n)
		}
		return nil
	})
	out, serr, code := runWharf(t, dir, []string{"WHARF_SERVER=" + gw}, "metrics", "query", "--endpoint", "db-07",
		"--metric", "disk.busy", "--from", strconv.FormatInt(t0-60, 10), "--to", strconv.FormatInt(t0+180, 10), "-o", "json")
	if code != 0 || !regexp.MustCompile(`"value":\s*72\b`).MatchString(out) {
		t.Fatalf("query db-07: exit %d %s %s", code, out, serr)
	}
	if code := p.stop(15 * time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.errOut())
	}
}
