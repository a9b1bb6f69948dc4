package main

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestPushBacklogThroughServe: in a real `wharf serve`, while the judge
// gets nothing (its channels paused in the embedded nsqd), pushes through
// the gateway pile up until monitoring.max_backlog; then a push — over
// HTTP or with `wharf metrics push` — is refused with 503, Retry-After and
// a message naming the key, and nothing of it is stored; the backlog is
// on /metrics. When the judge gets its points again, pushes are accepted.
func TestPushBacklogThroughServe(t *testing.T) {
	dir := t.TempDir()
	args := append(serveArgs(t), "--agent-local=false")
	p := startWharf(t, dir, []string{"WHARF_MONITORING_MAX_BACKLOG=30", "WHARF_MONITORING_SHARDS=2", "WHARF_MONITORING_RETRY_AFTER=4s"}, args...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	nsqdHTTP := p.waitFor(reNSQDHTTP, 5*time.Second)[1]
	admin := p.waitFor(reToken, 5*time.Second)[1]
	internal := p.waitFor(reInternal, 5*time.Second)[1]

	channel := func(action string, shard int) error {
		resp, err := http.Post("http://"+nsqdHTTP+"/channel/"+action+"?topic="+wire.JudgeTopic(shard)+"&channel="+wire.JudgeChannel, "", nil)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("%s judge channel of shard %d: %s", action, shard, resp.Status)
		}
		return nil
	}
	for sh := range 2 {
		testenv.Eventually(t, 30*time.Second, func() error { return channel("pause", sh) })
	}
	ts := time.Now().Unix()/60*60 - 60
	push := func(endpoint string, n int) apiResp {
		var items []map[string]any
		for i := range n {
			items = append(items, map[string]any{"endpoint": endpoint + "-" + strconv.Itoa(i), "metric": "cpu.busy", "timestamp": ts, "step": 60, "value": i, "counterType": "GAUGE", "tags": ""})
		}
		return call(t, "POST", gw+"/v1/push", admin, items)
	}
	if r := push("first", 40); r.status != 200 {
		t.Fatalf("first push: %d %s", r.status, r.raw)
	}
	testenv.Eventually(t, 15*time.Second, func() error {
		r := push("probe", 1) // accepted until the watch has seen the backlog
		if r.status != 503 || r.header.Get("Retry-After") != "4" || !strings.Contains(r.raw, "monitoring.max_backlog") || !strings.Contains(r.raw, "channel judge") {
			return fmt.Errorf("push past the backlog: %d Retry-After %q %s", r.status, r.header.Get("Retry-After"), r.raw)
		}
		return nil
	})
	if r := push("refused", 1); r.status != 503 {
		t.Fatalf("push past the backlog: %d %s", r.status, r.raw)
	}
	c := cli{t: t, dir: dir, env: []string{"WHARF_SERVER=" + gw, "WHARF_TOKEN=" + admin}}
	c.fails("monitoring.max_backlog", "metrics", "push", "--endpoint", "refused-cli", "--metric", "cpu.busy", "--value", "1")
	m := call(t, "GET", internal+"/metrics", "", nil)
	if !strings.Contains(m.raw, `wharf_monitor_push_rejected_total{reason="backlog"}`) || !strings.Contains(m.raw, `wharf_monitor_backlog_points{channel="judge"}`) {
		t.Fatalf("backlog metrics missing")
	}

	for sh := range 2 {
		if err := channel("unpause", sh); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		if r := push("after", 1); r.status != 200 {
			return fmt.Errorf("push after the judge caught up: %d %s", r.status, r.raw)
		}
		return nil
	})
	testenv.Eventually(t, 15*time.Second, func() error {
		r := call(t, "GET", gw+"/api/v1/metrics/series?metric=cpu.busy&limit=1000", admin, nil)
		if !strings.Contains(r.raw, `"after-0"`) || !strings.Contains(r.raw, `"first-39"`) {
			return fmt.Errorf("accepted pushes not all listed yet: %s", r.raw)
		}
		if strings.Contains(r.raw, `"refused-0"`) || strings.Contains(r.raw, `"refused-cli"`) {
			return fmt.Errorf("a refused push was stored: %s", r.raw)
		}
		return nil
	})
	if code := p.stop(15 * time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.errOut())
	}
}
