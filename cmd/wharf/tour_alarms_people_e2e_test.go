package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/alarms"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/alarm"
)

// TestTourAlarmsToPeople is the README's "alarms to people" tour
// (docs/monitoring-alarms-tour.md, every command as written there): a
// strategy on the gateway's own error rate of a service fires; the alarm
// shows on `wharf alarms tail` and reaches the team's webhook as
// Alertmanager's v4 payload; `wharf silence add` silences it, so its
// resolution is recorded but not sent; it resolves on the tail and in
// `wharf alarms list`.
func TestTourAlarmsToPeople(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "wharf.yaml")
	if err := os.WriteFile(cfg, []byte("monitoring: {min_step: 1s}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startWharf(t, dir, nil, append(serveArgs(t), "--agent-local=false", "--config", cfg, allowLoopbackReceivers)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	admin := p.waitFor(reToken, 5*time.Second)[1]
	c := cli{t: t, dir: dir, env: []string{"WHARF_SERVER=" + gw, "WHARF_TOKEN=" + admin}}
	write := func(name, body string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	hook := newHookRecorder(t)

	// The admin puts a service and its route; the team gets a token.
	var broken atomic.Bool
	c.ok("service", "put", "shop", "-f", write("svc.yaml", fmt.Sprintf("{instances: [{addr: %q}]}", startSwitchable(t, &broken))))
	c.ok("route", "put", "shop", "-f", write("route.yaml", "{path: /shop/, service: shop}"))
	secret := regexp.MustCompile(`(?m)^  (wharf_\S+)$`).FindStringSubmatch(c.ok("token", "create", "--team", "shop"))
	if secret == nil {
		t.Fatal("token create printed no secret")
	}
	shop := c.with("WHARF_TOKEN=" + secret[1])

	// The team: a webhook receiver, a strategy on its error rate, and a
	// terminal following its alarms.
	logged := func(out string) string { t.Logf("\n%s", out); return out }
	wantLines(t, "receiver put", shop.ok("receiver", "put", "chat", "-f", write("chat.json", fmt.Sprintf(`{"kind": "webhook", "url": %q}`, hook.srv.URL+"/chat"))),
		"Receiver chat of team shop: webhook "+hook.srv.URL+"/chat.")
	shop.ok("strategy", "create", "-f", write("errors.json", `{"id": "shop-errors", "metric": "wharf.service.error_rate",
		"tags": {"service": "shop"}, "func": "all(#3)", "operator": ">", "right_value": 0.5, "max_step": 3, "priority": 1,
		"note": "shop answers errors"}`))
	tail := startWharf(t, dir, shop.env, "alarms", "tail", "--match", "alertname=shop-errors")

	traffic := func(want int, cond func() error) {
		t.Helper()
		testenv.Eventually(t, 90*time.Second, func() error {
			for range 5 {
				if code, _ := get(t, gw+"/shop/x"); code != want {
					return fmt.Errorf("shop answered %d, want %d", code, want)
				}
			}
			return cond()
		})
	}
	// The shop breaks: the alarm fires on the tail and at the webhook.
	broken.Store(true)
	traffic(500, func() error {
		if len(hook.to("/chat")) == 0 || !strings.Contains(tail.out(), " opened team=shop alertname=shop-errors priority=1") {
			return fmt.Errorf("no firing alarm on the webhook and the tail yet; tail: %q", tail.out())
		}
		return nil
	})
	// Requests keep coming while the shop is broken (a step without
	// requests has error_rate 0, and the judge would resolve the alarm
	// before the silence is added).
	stopLoad, loadDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(loadDone)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopLoad:
				return
			case <-tick.C:
			}
			if resp, err := http.Get(gw + "/shop/x"); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
		}
	}()
	first := hook.to("/chat")[0].p
	if first.Version != "4" || first.Status != "firing" || len(first.Alerts) != 1 || first.Alerts[0].Labels["alertname"] != "shop-errors" ||
		first.Alerts[0].Labels["service"] != "shop" || first.Alerts[0].Annotations["note"] != "shop answers errors" {
		t.Fatalf("webhook payload %+v", first)
	}
	var l alarms.CaseList
	if err := json.Unmarshal([]byte(shop.ok("alarms", "list", "-o", "json")), &l); err != nil || len(l.Alarms) != 1 {
		t.Fatalf("alarms list: %v %+v", err, l)
	}
	id := l.Alarms[0].ID
	wantLines(t, "alarms list", logged(shop.ok("alarms", "list")), id, "shop-errors", "service=shop")

	// Someone is on it: silence the alarm for an hour.
	out := shop.ok("silence", "add", "alertname=shop-errors", "--for", "1h", "--comment", "fixing the shop")
	if !regexp.MustCompile(`^Silence [0-9a-f-]{36}: alertname="shop-errors" team="shop" until `).MatchString(out) {
		t.Fatalf("silence add: %q", out)
	}
	logged(out)
	wantLines(t, "silence list", logged(shop.ok("silence", "list")), "active", "fixing the shop")
	close(stopLoad)
	<-loadDone

	// The shop is fixed: the alarm resolves; the silence kept the
	// resolution from the webhook, the history says so.
	broken.Store(false)
	traffic(200, func() error {
		if !strings.Contains(tail.out(), id+" resolved team=shop") {
			return fmt.Errorf("not resolved on the tail: %q", tail.out())
		}
		var a alarm.Case
		if err := json.Unmarshal([]byte(shop.ok("alarms", "show", id, "-o", "json")), &a); err != nil {
			return err
		}
		for _, e := range a.History {
			if e.Kind == alarm.EntrySilenced && strings.HasPrefix(e.StepKey, "OK.") {
				return nil
			}
		}
		return fmt.Errorf("no silenced resolution in the history yet: %+v", a.History)
	})
	wantLines(t, "alarms list --state resolved", shop.ok("alarms", "list", "--state", "resolved"), id, "resolved")
	// Each transition once on the tail (not again for each delivery
	// recorded in the case's history).
	for _, state := range []string{"opened", "resolved"} {
		if n := strings.Count(logged(tail.out()), id+" "+state+" "); n != 1 {
			t.Errorf("the tail shows %s %d times, want once", state, n)
		}
	}
	wantLines(t, "alarms list --state resolved", logged(shop.ok("alarms", "list", "--state", "resolved")), id)
	wantLines(t, "alarms show", logged(shop.ok("alarms", "show", id)), "opened", "notified", "chat", "resolved", "silenced")
	for _, call := range hook.to("/chat") {
		if call.p.Status != "firing" {
			t.Fatalf("the silenced resolution reached the webhook: %+v", call.p)
		}
	}
}
