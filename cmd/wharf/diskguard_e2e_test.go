package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

// TestSeriesDiskFloorThroughServe: with monitoring.min_free_disk above
// what the disk has, serve runs (ingest, gateway and all), but the series
// writer stores nothing and says why once, in its log and on /metrics; a
// floor that is not a size or percentage stops serve with the key named.
func TestSeriesDiskFloorThroughServe(t *testing.T) {
	dir := t.TempDir()
	args := append(serveArgs(t), "--agent-local=false")
	p := startWharf(t, dir, []string{"WHARF_MONITORING_MIN_FREE_DISK=99.9%"}, args...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	admin := p.waitFor(reToken, 5*time.Second)[1]
	internal := p.waitFor(reInternal, 5*time.Second)[1]
	t0 := time.Now().Unix()/60*60 - 600
	for i := range 3 {
		items := []map[string]any{{"endpoint": "web-1", "metric": "cpu.busy", "timestamp": t0 + int64(i)*60, "step": 60, "value": 5, "counterType": "GAUGE", "tags": ""}}
		if r := call(t, "POST", gw+"/v1/push", admin, items); r.status != 200 {
			t.Fatalf("push: %d %s", r.status, r.raw)
		}
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		m := call(t, "GET", internal+"/metrics", "", nil)
		if !strings.Contains(m.raw, "wharf_monitor_series_disk_low 1") {
			return fmt.Errorf("series disk not reported low yet")
		}
		return nil
	})
	testenv.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(p.errOut(), "series writes paused: disk space low") {
			return fmt.Errorf("no log line yet")
		}
		return nil
	})
	r := call(t, "GET", gw+"/api/v1/metrics/series?endpoint=web-1", admin, nil)
	if r.status != 200 || strings.Contains(r.raw, "cpu.busy") {
		t.Fatalf("series stored below the floor: %d %s", r.status, r.raw)
	}
	if code := p.stop(15 * time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.errOut())
	}
	if n := strings.Count(p.errOut(), "series writes paused"); n != 1 {
		t.Fatalf("the pause is logged %d times, want once", n)
	}

	_, serr, code := runWharf(t, t.TempDir(), []string{"WHARF_MONITORING_MIN_FREE_DISK=plenty"}, args...)
	if code == 0 || !strings.Contains(serr, "monitoring.min_free_disk: want a size such as 1GiB") {
		t.Fatalf("bad floor: exit %d %s", code, serr)
	}
}
