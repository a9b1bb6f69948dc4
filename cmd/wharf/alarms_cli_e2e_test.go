package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/alarms"
	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/buntstore"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/alarm"
)

// writeFile writes body to a new file named name and returns its path.
func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAlarmConfigCLIThroughServe: a team manages receivers (the secret
// never shown), its alarm route tree (versioned, with history) and
// silences with the CLI against a real serve; another team sees none of
// it; bad files are refused naming the field; Prometheus-style posts of
// alerts are taken.
func TestAlarmConfigCLIThroughServe(t *testing.T) {
	dir := t.TempDir()
	p := startWharf(t, dir, nil, append(serveArgs(t), "--agent-local=false", allowLoopbackReceivers)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	admin := p.waitFor(reToken, 5*time.Second)[1]
	tokens := map[string]string{}
	for name, scope := range map[string]string{"shop": "team:shop", "bank": "team:bank", "prom": "ingest"} {
		r := call(t, "POST", gw+"/api/v1/tokens", admin, map[string]any{"name": name, "scopes": []string{scope}})
		if r.status != 201 {
			t.Fatalf("create %s token: %d %s", name, r.status, r.raw)
		}
		tokens[name] = r.body["token"].(string)
	}
	c := cli{t: t, dir: dir, env: []string{"WHARF_SERVER=" + gw}}
	shop, bank := c.with("WHARF_TOKEN="+tokens["shop"]), c.with("WHARF_TOKEN="+tokens["bank"])

	// Receivers.
	chat := writeFile(t, "chat.json", `{"name":"chat","kind":"webhook","url":"http://127.0.0.1:9/hook","secret_ref":"chat-hmac","secret":"very-secret-value"}`)
	wantLines(t, "receiver put", shop.ok("receiver", "put", "-f", chat), "Receiver chat of team shop: webhook http://127.0.0.1:9/hook.")
	shop.ok("receiver", "put", "old", "-f", writeFile(t, "old.json", `{"kind":"webhook","url":"http://127.0.0.1:9/old"}`))
	list := shop.ok("receiver", "list")
	wantLines(t, "receiver list", list, "NAME", "chat", "old", "chat-hmac")
	if strings.Contains(list, "very-secret") || strings.Contains(shop.ok("receiver", "show", "chat", "-o", "json"), "very-secret") {
		t.Fatalf("the secret is shown: %s", list)
	}
	shop.fails("url", "receiver", "put", "x", "-f", writeFile(t, "bad.json", `{"kind":"webhook","url":"nope"}`))
	// Loopback is allowed on this serve; the gateway itself never is.
	shop.fails("url: address not allowed for receivers: it is one of Wharf's own listeners", "receiver", "put", "x", "-f", writeFile(t, "self.json", fmt.Sprintf(`{"kind":"webhook","url":%q}`, gw+"/api/v1/tokens")))
	bank.fails("may not manage the alarms of team \"shop\"", "receiver", "list", "--team", "shop")

	// Routes.
	tree := writeFile(t, "routes.yaml", "receiver: chat\ngroup_by: [alertname]\nroutes:\n  - matchers: ['priority=~\"[0-2]\"']\n    receiver: chat\n")
	wantLines(t, "routes put", shop.ok("alarms", "routes", "put", "-f", tree, "--comment", "first"), "Routes of team shop: version 1 (receiver chat, 1 sub-routes).")
	shop.ok("alarms", "routes", "put", "-f", tree)
	wantLines(t, "routes show", shop.ok("alarms", "routes", "show"), "# team shop, version 2", "receiver: chat", `priority=~"[0-2]"`)
	wantLines(t, "routes history", shop.ok("alarms", "routes", "show", "--history"), "VERSION", "first", "shop")
	shop.fails("routes[0].receiver", "alarms", "routes", "put", "-f", writeFile(t, "bad.yaml", "receiver: chat\nroutes:\n  - receiver: nobody\n"))
	shop.fails("named by team \"shop\"'s routes", "receiver", "delete", "chat")
	wantLines(t, "receiver delete", shop.ok("receiver", "delete", "old"), "Deleted receiver old of team shop.")

	// Inhibition rules.
	wantLines(t, "inhibit show (none)", shop.ok("alarms", "inhibit", "show"), "version 0", "No inhibition rules.")
	rules := writeFile(t, "inhibit.yaml", "- source_matchers: ['alertname=\"down\"']\n  target_matchers: ['alertname=~\"latency.*\"']\n  equal: [cluster]\n")
	wantLines(t, "inhibit put", shop.ok("alarms", "inhibit", "put", "-f", rules), "Inhibition rules of team shop: version 1 (1 rules).")
	wantLines(t, "inhibit show", shop.ok("alarms", "inhibit", "show"), "version 1", `alertname="down"`, "cluster")
	shop.fails("[0].target_matchers", "alarms", "inhibit", "put", "-f", writeFile(t, "badinh.yaml", "- source_matchers: ['a=b']\n  target_matchers: ['a=~\"[\"']\n"))

	// Silences.
	out := shop.ok("silence", "add", "alertname=cpu", `priority=~"[0-2]"`, "--for", "2h", "--comment", "db maintenance")
	m := regexp.MustCompile(`^Silence ([0-9a-f-]{36}): alertname="cpu" priority=~"\[0-2\]" team="shop" until `).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("silence add: %q", out)
	}
	id := m[1]
	wantLines(t, "silence list", shop.ok("silence", "list"), "ID", id, "active", "db maintenance", "shop")
	wantLines(t, "other team's silences", bank.ok("silence", "list"), "No silences.")
	bank.fails("not found", "silence", "expire", id)
	names, _ := completions(t, shop, "silence", "expire", "")
	wantNames(t, "silence expire completion", names, id)
	shop.fails("matcher", "silence", "add", "alert name=x")
	wantLines(t, "silence expire", shop.ok("silence", "expire", id), "Expired "+id+".")
	wantLines(t, "after expire", shop.ok("silence", "list"), "No silences.")
	wantLines(t, "--expired", shop.ok("silence", "list", "--expired"), id, "expired")
	var sl []alarms.GettableSilence
	if err := json.Unmarshal([]byte(shop.ok("silence", "list", "--expired", "-o", "json", "alertname=cpu")), &sl); err != nil || len(sl) != 1 {
		t.Fatalf("list -o json: %v %+v", err, sl)
	}

	// Cases: none yet here (notify makes them); deliveries: none.
	wantLines(t, "alarms list", shop.ok("alarms", "list"), "No alarms.")
	wantLines(t, "deliveries", shop.ok("alarms", "deliveries", "--failed"), "No failed deliveries.")
	shop.fails("add --failed", "alarms", "deliveries")

	// Prometheus posts with an ingest token; without one it is a 401.
	alert := []map[string]any{{"labels": map[string]string{"alertname": "up", "team": "shop"}, "generatorURL": "http://prom/graph"}}
	if r := call(t, "POST", gw+"/api/v2/alerts", tokens["prom"], alert); r.status != 200 {
		t.Fatalf("post alerts: %d %s", r.status, r.raw)
	}
	if r := call(t, "POST", gw+"/api/v2/alerts", "", alert); r.status != 401 {
		t.Fatalf("post alerts without a token: %d %s", r.status, r.raw)
	}
}

// TestAlarmCasesCLI: list, show, ack and tail render the cases of a real
// alarms function behind a real gateway (the cases are written as the
// notify runner writes them, which `wharf serve` of this branch does not
// run yet).
func TestAlarmCasesCLI(t *testing.T) {
	nsqd := testenv.StartNSQD(t)
	st, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	ctx := context.Background()
	svc := auth.NewService(st)
	if _, err := svc.Bootstrap(ctx, filepath.Join(t.TempDir(), "admin.token")); err != nil {
		t.Fatal(err)
	}
	_, tok, err := svc.Create(ctx, auth.CreateRequest{Name: "ann", Scopes: []string{auth.TeamScope("shop")}})
	if err != nil {
		t.Fatal(err)
	}
	prod, err := bus.NewProducer(bus.ProducerOptions{Addrs: []string{nsqd.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prod.Close() })
	fn, err := alarms.New(alarms.Options{Store: st, Publisher: prod})
	if err != nil {
		t.Fatal(err)
	}
	mux := fnapi.NewMux(svc, nil)
	if err := mux.Register(fn); err != nil {
		t.Fatal(err)
	}
	gw := "http://" + gatewaytest.Start(t, gateway.Options{}, mux).Addr().String()
	put := func(c alarm.Case) {
		b, _ := json.Marshal(c)
		if _, err := st.Put(ctx, wire.CaseKey(c.ID), b, store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Put(ctx, wire.TeamCaseKey(c.Labels["team"], c.ID), []byte(`""`), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC()
	cpu := alarm.Case{ID: "s_1_cpu", Source: alarm.SourceJudge, Labels: map[string]string{"alertname": "cpu", "team": "shop", "priority": "1", "endpoint": "web-1"},
		State: alarm.Opened, Step: 1, Priority: 1, StepKey: "PROBLEM.1.1", StartsAt: now.Add(-3 * time.Minute), UpdatedAt: now,
		History: []alarm.Entry{{At: now, Kind: alarm.EntryOpened, StepKey: "PROBLEM.1.1"}, {At: now, Kind: alarm.EntryNotified, StepKey: "PROBLEM.1.1", Receiver: "chat", Via: "webhook", Result: "200", Attempt: 1}}}
	put(cpu)
	dir := t.TempDir()
	c := cli{t: t, dir: dir, env: []string{"WHARF_SERVER=" + gw, "WHARF_TOKEN=" + tok}}
	wantLines(t, "list", c.ok("alarms", "list"), "ID", "ALERTNAME", "s_1_cpu", "cpu", "opened", "endpoint=web-1")
	wantLines(t, "list --state", c.ok("alarms", "list", "--state", "resolved"), "No alarms.")
	c.fails("state must be", "alarms", "list", "--state", "odd")
	wantLines(t, "show", c.ok("alarms", "show", "s_1_cpu"), "s_1_cpu", "History:", "notified", "chat", "webhook", "200")
	wantLines(t, "ack", c.ok("alarms", "ack", "s_1_cpu"), "Acknowledged s_1_cpu (cpu) as ann.")
	c.fails("already acknowledged by ann", "alarms", "ack", "s_1_cpu")
	out, errOut, code := runWharf(t, dir, c.env, "alarms", "ack", "s_1_cpu", "-o", "json")
	if code == 0 || !strings.Contains(errOut, `"error"`) || out != "" {
		t.Fatalf("ack -o json error: %d %q %q", code, out, errOut)
	}
	c.fails("not found", "alarms", "show", "nope")
	names, _ := completions(t, c, "alarms", "ack", "s_")
	wantNames(t, "alarms ack completion", names, "s_1_cpu")

	// amtool's alert query reads the same cases, its flags as Alertmanager's.
	{
		am := newAmtool(t, gw, tok)
		wantLines(t, "amtool alert query", am.ok("alert", "query"), "cpu")
		sid := strings.TrimSpace(am.ok("silence", "add", "alertname=cpu", "--comment=x", "--duration=1h"))
		if out := am.ok("alert", "query", "-o", "json"); strings.TrimSpace(out) != "[]" {
			t.Fatalf("a silenced alert is listed without --silenced: %q", out)
		}
		var got []struct {
			Labels map[string]string
			Status struct {
				State      string
				SilencedBy []string
			}
		}
		out := am.ok("alert", "query", "--silenced", "-o", "json")
		if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 1 || got[0].Status.State != "suppressed" || got[0].Status.SilencedBy[0] != sid {
			t.Fatalf("alert query --silenced: %v %s", err, out)
		}
		am.ok("silence", "expire", sid)
	}

	tail := startWharf(t, dir, append(cleanEnv(), c.env...), "alarms", "tail", "--match", "priority=~\"[0-2]\"")
	low := cpu
	low.ID, low.Priority, low.Labels = "s_2_low", 5, map[string]string{"alertname": "low", "team": "shop", "priority": "5"}
	disk := cpu
	disk.ID, disk.Labels = "s_3_disk", map[string]string{"alertname": "disk", "team": "shop", "priority": "0"}
	// The stream starts at connect: put until the tail shows the first one.
	testenv.Eventually(t, 20*time.Second, func() error {
		put(low)
		put(disk)
		if !strings.Contains(tail.out(), "s_3_disk") {
			return os.ErrNotExist
		}
		return nil
	})
	if strings.Contains(tail.out(), "s_2_low") {
		t.Fatalf("tail shows a case the match excludes: %s", tail.out())
	}
	wantLines(t, "tail", tail.out(), "s_3_disk opened team=shop alertname=disk priority=1")
}
