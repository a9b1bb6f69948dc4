package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/alarms"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/alarm"
	"github.com/wharfhq/wharf/monitoring/receiver"
)

// hookCall is one webhook call a test receiver got.
type hookCall struct {
	path, key string
	p         receiver.Payload
}

// hookRecorder is a real webhook receiver recording every call.
type hookRecorder struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls []hookCall
}

func newHookRecorder(t *testing.T) *hookRecorder {
	t.Helper()
	h := &hookRecorder{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p receiver.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("webhook payload %s: %v", body, err)
		}
		h.mu.Lock()
		h.calls = append(h.calls, hookCall{r.URL.Path, r.Header.Get(receiver.HeaderIdempotencyKey), p})
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// to returns the calls made to path.
func (h *hookRecorder) to(path string) []hookCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []hookCall
	for _, c := range h.calls {
		if c.path == path {
			out = append(out, c)
		}
	}
	return out
}

// TestEscalationThroughServe: a team routes two strategies to its on-call
// webhook with an escalation to a second one. The disk alarm nobody
// acknowledges reaches the escalation receiver once, marked escalated; the
// CPU alarm acknowledged with `wharf alarms ack` before its delay never
// does, and `wharf alarms show` says the escalation was cancelled.
func TestEscalationThroughServe(t *testing.T) {
	// Long and mostly waiting: runs beside the other parallel e2e tests,
	// after the sequential ones (which count goroutines and listeners).
	t.Parallel()
	hook := newHookRecorder(t)
	dir := t.TempDir()
	p := startWharf(t, dir, nil, append(serveArgs(t), "--agent-local=false", allowLoopbackReceivers)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	admin := p.waitFor(reToken, 5*time.Second)[1]
	tok := call(t, "POST", gw+"/api/v1/tokens", admin, map[string]any{"name": "shop", "scopes": []string{"team:shop"}})
	if tok.status != 201 {
		t.Fatalf("create team token: %d %s", tok.status, tok.raw)
	}
	adm := cli{t: t, dir: dir, env: []string{"WHARF_SERVER=" + gw, "WHARF_TOKEN=" + admin}}
	shop := adm.with("WHARF_TOKEN=" + tok.body["token"].(string))

	for _, name := range []string{"oncall", "boss"} {
		shop.ok("receiver", "put", name, "-f", writeFile(t, name+".json", fmt.Sprintf(`{"kind":"webhook","url":%q}`, hook.srv.URL+"/"+name)))
	}
	for _, s := range []string{
		`{"id": "disk-full", "metric": "disk.used", "tags": {"mount": "/data", "app": "shop"}, "func": "all(#1)", "operator": ">", "right_value": 90, "max_step": 1, "priority": 1}`,
		`{"id": "cpu-hot", "metric": "cpu.busy", "tags": {"app": "shop"}, "func": "all(#1)", "operator": ">", "right_value": 90, "max_step": 1, "priority": 1}`,
	} {
		shop.ok("strategy", "create", "-f", writeFile(t, "s.json", s))
	}
	// Points are pushed at the start of this minute; the CPU alarm
	// escalates 25s from now, time enough to acknowledge it.
	t0 := time.Now().Unix() / 60 * 60
	ackWithin := time.Now().Unix() - t0 + 25
	shop.fails("escalate.after", "alarms", "routes", "put", "-f", writeFile(t, "bad.yaml", "receiver: oncall\nescalate: {receiver: boss}\n"))
	shop.fails("routes[0].escalate.receiver", "alarms", "routes", "put", "-f", writeFile(t, "bad.yaml", "receiver: oncall\nroutes:\n  - escalate: {receiver: ghost, after: 1m}\n"))
	tree := fmt.Sprintf(`receiver: oncall
routes:
  - matchers: ['metric="disk.used"']
    escalate: {receiver: boss, after: 1s, max_priority: 1}
  - matchers: ['metric="cpu.busy"']
    escalate: {receiver: boss, after: %ds}
`, ackWithin)
	shop.ok("alarms", "routes", "put", "-f", writeFile(t, "routes.yaml", tree))
	wantLines(t, "routes show", shop.ok("alarms", "routes", "show"), "escalate:", "receiver: boss", "after: 1s")
	shop.fails("named by team \"shop\"'s routes", "receiver", "delete", "boss")

	push := func(metric, tags string) {
		adm.ok("metrics", "push", "--endpoint", "db-1", "--metric", metric, "--value", "95", "--tags", tags, "--timestamp", strconv.FormatInt(t0, 10))
	}
	push("cpu.busy", "app=shop")
	var cpuID string
	testenv.Eventually(t, 20*time.Second, func() error {
		if len(hook.to("/oncall")) == 0 {
			return fmt.Errorf("the CPU alarm did not reach oncall")
		}
		var l alarms.CaseList
		if err := json.Unmarshal([]byte(shop.ok("alarms", "list", "-o", "json")), &l); err != nil || len(l.Alarms) != 1 {
			return fmt.Errorf("alarms list: %v %+v", err, l)
		}
		cpuID = l.Alarms[0].ID
		return nil
	})
	wantLines(t, "ack", shop.ok("alarms", "ack", cpuID), "Acknowledged "+cpuID)
	push("disk.used", "mount=/data,app=shop")

	testenv.Eventually(t, 20*time.Second, func() error {
		if n := len(hook.to("/boss")); n == 0 {
			return fmt.Errorf("the disk alarm did not escalate")
		}
		return nil
	})
	// The CPU escalation comes due and is cancelled: the history says so.
	testenv.Eventually(t, time.Duration(ackWithin+30)*time.Second, func() error {
		var c alarm.Case
		if err := json.Unmarshal([]byte(shop.ok("alarms", "show", cpuID, "-o", "json")), &c); err != nil {
			return err
		}
		for _, e := range c.History {
			if e.Kind == alarm.EntryCancelled && e.Receiver == "boss" && strings.Contains(e.Note, "acknowledged by shop") {
				return nil
			}
		}
		return fmt.Errorf("no cancelled escalation in %+v", c.History)
	})
	wantLines(t, "show", shop.ok("alarms", "show", cpuID), "cancelled", "boss", "acknowledged by shop before it escalated")
	boss := hook.to("/boss")
	if len(boss) != 1 {
		t.Fatalf("boss got %d calls, want the disk alarm once: %+v", len(boss), boss)
	}
	a := boss[0].p.Alerts
	if boss[0].p.Receiver != "boss" || len(a) != 1 || a[0].Labels["alertname"] != "disk-full" || a[0].Annotations["escalated"] == "" {
		t.Fatalf("escalation payload %+v", boss[0].p)
	}
}
