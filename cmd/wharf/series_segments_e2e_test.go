package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestSeriesSurviveSIGKILLOfServe: points a Falcon agent pushed through
// `wharf serve`, once queryable, are all still there after serve is
// SIGKILLed and started again; the series live in segment files of slots
// (data/series/<shard>/slots/73728/*.seg), not one file per series.
func TestSeriesSurviveSIGKILLOfServe(t *testing.T) {
	dir := t.TempDir()
	args := append(serveArgs(t), "--agent-local=false")
	p := startWharf(t, dir, nil, args...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	admin := p.waitFor(reToken, 5*time.Second)[1]
	r := call(t, "POST", gw+"/api/v1/tokens", admin, map[string]any{"name": "pusher", "scopes": []string{"ingest"}})
	if r.status != 201 {
		t.Fatalf("create ingest token: %d %s", r.status, r.raw)
	}
	ingest := r.body["token"].(string)

	const hosts = 40
	t0 := time.Now().Unix()/60*60 - 600
	var items []map[string]any
	for h := range hosts {
		for i := range 5 {
			items = append(items, map[string]any{"endpoint": fmt.Sprintf("web-%02d", h), "metric": "cpu.busy",
				"timestamp": t0 + int64(i)*60, "step": 60, "value": h*100 + i, "counterType": "GAUGE", "tags": "env=prod"})
		}
	}
	if r := call(t, "POST", gw+"/v1/push", ingest, items); r.status != 200 || r.body["invalid"] != 0.0 {
		t.Fatalf("push: %d %s", r.status, r.raw)
	}
	window := []string{"--from", strconv.FormatInt(t0-60, 10), "--to", strconv.FormatInt(t0+300, 10)}
	query := func(gw string, h int) error {
		out, serr, code := runWharf(t, dir, []string{"WHARF_SERVER=" + gw}, append([]string{"metrics", "query",
			"--endpoint", fmt.Sprintf("web-%02d", h), "--metric", "cpu.busy", "--tags", "env=prod", "-o", "json"}, window...)...)
		var q monitor.QueryReply
		if err := json.Unmarshal([]byte(out), &q); err != nil || code != 0 || len(q.Series) != 1 || !q.Series[0].Found {
			return fmt.Errorf("query web-%02d: exit %d %v %s %s", h, code, err, out, serr)
		}
		for _, v := range q.Series[0].Values {
			if v.Timestamp == t0+240 && float64(v.Value) == float64(h*100+4) {
				return nil
			}
		}
		return fmt.Errorf("web-%02d: no %d at %d: %s", h, h*100+4, t0+240, out)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		for h := range hosts {
			if err := query(gw, h); err != nil {
				return err
			}
		}
		return nil
	})

	_ = p.cmd.Process.Kill() // SIGKILL: no checkpoint, no clean close
	p.wait(15 * time.Second)
	segs, _ := filepath.Glob(filepath.Join(dir, "data", "series", "*", "slots", "73728", "*.seg"))
	old, _ := filepath.Glob(filepath.Join(dir, "data", "series", "*", "series"))
	if len(segs) == 0 || len(old) != 0 {
		t.Fatalf("layout: segments %v, one-file-per-series directories %v", segs, old)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "admin.token")); err != nil {
		t.Fatal(err)
	}

	p = startWharf(t, dir, nil, args...)
	gw = p.waitFor(reGateway, 30*time.Second)[1]
	for h := range hosts {
		if err := query(gw, h); err != nil {
			t.Fatalf("after SIGKILL and restart: %v", err)
		}
	}
	if code := p.stop(15 * time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.errOut())
	}
}
