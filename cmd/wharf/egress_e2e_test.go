package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	alarmwire "github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/receiver"
	"github.com/wharfhq/wharf/monitoring/strategy"
)

// allowLoopbackReceivers lets teams' receivers reach the tests' loopback
// webhooks (refused by default: see TestReceiverURLRestriction).
const allowLoopbackReceivers = "--notify-allow-receiver-networks=127.0.0.0/8"

// TestReceiverURLRestriction: on a serve that allows no network, a team
// cannot point a webhook at loopback, link-local (cloud metadata), a name
// that resolves to loopback, or the gateway itself — 400 naming url —
// while the admin's global receivers may. A team receiver that got a
// loopback URL anyway (written before, or a name resolving elsewhere
// later: DNS rebinding) is refused when notify dials it: the delivery is
// dead at once and listed by `wharf alarms deliveries --failed`, and the
// loopback webhook gets nothing.
func TestReceiverURLRestriction(t *testing.T) {
	hook := newHookRecorder(t)
	dir := t.TempDir()
	s := strategy.Strategy{ID: "disk-full", Team: "shop", Metric: "disk.used", Tags: map[string]string{"mount": "/data"},
		Func: "all(#1)", Operator: ">", RightValue: 90, MaxStep: 1, Priority: 1}
	seedAlarmStore(t, filepath.Join(dir, "data"), map[string]any{
		wire.StrategyKey(s.ID):                   s,
		alarmwire.ReceiverKey("shop", "rebound"): receiver.Receiver{Name: "rebound", Team: "shop", Kind: receiver.KindWebhook, URL: hook.srv.URL + "/rebound"},
	})
	p := startWharf(t, dir, nil, append(serveArgs(t), "--agent-local=false")...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	admin := p.waitFor(reToken, 5*time.Second)[1]
	tok := call(t, "POST", gw+"/api/v1/tokens", admin, map[string]any{"name": "shop", "scopes": []string{"team:shop"}})
	if tok.status != 201 {
		t.Fatalf("create team token: %d %s", tok.status, tok.raw)
	}
	shopTok := tok.body["token"].(string)
	adm := cli{t: t, dir: dir, env: []string{"WHARF_SERVER=" + gw, "WHARF_TOKEN=" + admin}}
	shop := adm.with("WHARF_TOKEN=" + shopTok)

	for url, why := range map[string]string{
		hook.srv.URL: "loopback",
		"http://169.254.169.254/latest/meta-data/":                "link-local",
		"http://[::ffff:10.0.0.1]:8080/":                          "private",
		"http://localhost:" + strings.Split(hook.srv.URL, ":")[2]: "loopback",
		gw + "/api/v1/tokens":                                     "it is one of Wharf's own listeners",
	} {
		shop.fails("url: address not allowed for receivers: "+why, "receiver", "put", "x", "-f", writeFile(t, "x.json", fmt.Sprintf(`{"kind":"webhook","url":%q}`, url)))
	}
	r := call(t, "PUT", gw+"/api/v1/receivers/shop/x", shopTok, map[string]any{"kind": "webhook", "url": "http://169.254.169.254/"})
	if r.status != 400 || !strings.Contains(r.raw, `"url"`) || !strings.Contains(r.raw, "notify.allow_receiver_networks") {
		t.Fatalf("PUT a metadata URL: %d %s", r.status, r.raw)
	}
	shop.ok("receiver", "put", "public", "-f", writeFile(t, "ok.json", `{"kind":"webhook","url":"https://93.184.216.34/x"}`))
	adm.ok("receiver", "put", "ops", "--team", "_global", "-f", writeFile(t, "ops.json", fmt.Sprintf(`{"kind":"webhook","url":%q}`, hook.srv.URL+"/ops")))

	// The receiver written with a loopback URL gets nothing: refused at dial time.
	adm.ok("receiver", "delete", "public", "--team", "shop")
	adm.ok("metrics", "push", "--endpoint", "db-1", "--metric", "disk.used", "--value", "95", "--tags", "mount=/data",
		"--timestamp", strconv.FormatInt(time.Now().Unix()/60*60-120, 10))
	var out string
	testenv.Eventually(t, 30*time.Second, func() error {
		out = shop.ok("alarms", "deliveries", "--failed")
		if !strings.Contains(out, "rebound") {
			return fmt.Errorf("no dead delivery to rebound: %s", out)
		}
		return nil
	})
	wantLines(t, "deliveries --failed", out, "rebound", "address not allowed for receivers", "1")
	if calls := hook.to("/rebound"); len(calls) != 0 {
		t.Fatalf("the loopback webhook was called: %+v", calls)
	}
}
