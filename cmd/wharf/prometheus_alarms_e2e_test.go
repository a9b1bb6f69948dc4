package main

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

// TestPrometheusFiresAndResolvesThroughServe is issue 14's Prometheus
// acceptance: Debian's Prometheus, unmodified, with `wharf serve` as its
// alertmanager (API v2, a team token as its credentials) evaluates a rule
// on a target the test switches; the rule fires and then resolves, and
// the team's webhook receives the firing and then the resolved message,
// each once, as Alertmanager's version 4 payload.
func TestPrometheusFiresAndResolvesThroughServe(t *testing.T) {
	// Long and mostly waiting: runs beside the other parallel e2e tests,
	// after the sequential ones (which count goroutines and listeners).
	t.Parallel()
	var broken atomic.Bool
	broken.Store(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		v := 0
		if broken.Load() {
			v = 1
		}
		fmt.Fprintf(w, "# TYPE shop_broken gauge\nshop_broken %d\n", v)
	})}
	go func() { _ = target.Serve(ln) }()
	t.Cleanup(func() { _ = target.Close() })
	hook := newHookRecorder(t)

	dir := t.TempDir()
	p := startWharf(t, dir, nil, append(serveArgs(t), "--agent-local=false", allowLoopbackReceivers)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	admin := p.waitFor(reToken, 5*time.Second)[1]
	tok := call(t, "POST", gw+"/api/v1/tokens", admin, map[string]any{"name": "prometheus", "scopes": []string{"team:shop"}})
	if tok.status != 201 {
		t.Fatalf("create team token: %d %s", tok.status, tok.raw)
	}
	shop := cli{t: t, dir: dir, env: []string{"WHARF_SERVER=" + gw, "WHARF_TOKEN=" + tok.body["token"].(string)}}
	shop.ok("receiver", "put", "chat", "-f", writeFile(t, "chat.json", fmt.Sprintf(`{"kind":"webhook","url":%q}`, hook.srv.URL+"/chat")))
	shop.ok("alarms", "routes", "put", "-f", writeFile(t, "routes.yaml", "receiver: chat\ngroup_by: [alertname]\ngroup_wait: 1s\ngroup_interval: 1s\n"))

	testenv.StartPrometheus(t, testenv.PrometheusOptions{
		Targets: []string{ln.Addr().String()}, Alertmanager: strings.TrimPrefix(gw, "http://"), AlertmanagerToken: tok.body["token"].(string),
		Rules: "groups:\n  - name: shop\n    rules:\n      - alert: ShopBroken\n        expr: shop_broken > 0\n" +
			"        labels: {severity: page}\n        annotations: {summary: \"the shop is broken\"}\n",
	})
	wait := func(n int) []hookCall {
		var out []hookCall
		testenv.Eventually(t, 90*time.Second, func() error {
			if out = hook.to("/chat"); len(out) < n {
				return fmt.Errorf("%d of %d webhook calls", len(out), n)
			}
			return nil
		})
		return out
	}
	firing := wait(1)[0]
	broken.Store(false)
	calls := wait(2)
	wantLines(t, "alarms list", shop.ok("alarms", "list"), "ShopBroken", "resolved")
	if len(calls) != 2 {
		t.Fatalf("%d webhook calls, want firing and resolved once each: %+v", len(calls), calls)
	}
	resolved := calls[1]
	for i, c := range []hookCall{firing, resolved} {
		want := []string{"firing", "resolved"}[i]
		a := c.p.Alerts
		if c.p.Version != "4" || c.p.Status != want || c.p.Receiver != "chat" || c.p.GroupLabels["alertname"] != "ShopBroken" || len(a) != 1 ||
			a[0].Status != want || a[0].Labels["alertname"] != "ShopBroken" || a[0].Labels["severity"] != "page" || a[0].Labels["team"] != "shop" ||
			a[0].Annotations["summary"] != "the shop is broken" || !strings.Contains(a[0].GeneratorURL, "/graph") || a[0].StartsAt.IsZero() {
			t.Fatalf("%s message: %+v", want, c.p)
		}
	}
	if a := resolved.p.Alerts[0]; !a.EndsAt.After(a.StartsAt) || firing.key == resolved.key {
		t.Fatalf("resolved alert %+v (key %s, firing's %s)", a, resolved.key, firing.key)
	}
}
