package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/artifacts/bundle"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestServeTenancy: on `wharf serve` with its real local agent, a team
// cannot claim a service an admin defined, cannot see another team's app,
// and an agent token of another machine cannot take over the local host,
// register services or addresses, or remove the real agent's instances;
// the real agent keeps deploying and serving.
func TestServeTenancy(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "wharf.yaml")
	if err := os.WriteFile(cfg, []byte("services:\n  - name: shop\n  - name: billing\n    instances: [{addr: \"127.0.0.1:9\"}]\n"+
		"routes:\n  - {name: shop, path: /shop, service: shop}\n  - {name: billing, path: /billing, service: billing}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { killUnder(dir) })
	p := startWharf(t, dir, []string{"WHARF_AGENT_DRAIN_DELAY=500ms"}, append(serveArgs(t), "--config", cfg)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	admin := p.waitFor(reToken, 5*time.Second)[1]
	tokens := map[string]string{}
	for name, scope := range map[string]string{"shop": "team:shop", "evil": "team:evil", "rogue": "agent"} {
		out, errOut, code := runWharf(t, dir, []string{"WHARF_SERVER=" + gw, "WHARF_TOKEN=" + admin},
			"token", "create", "--name", name, "--scope", scope, "-o", "json")
		m := regexp.MustCompile(`"token": "(wharf_\w+)"`).FindStringSubmatch(out)
		if code != 0 || m == nil {
			t.Fatalf("token %s: %d %s %s", name, code, out, errOut)
		}
		tokens[name] = m[1]
	}
	as := func(who string) []string { return []string{"WHARF_SERVER=" + gw, "WHARF_TOKEN=" + tokens[who]} }
	bin := buildSampleApp(t, t.TempDir())

	// 1. Another team cannot claim the admin's service "billing" by pushing
	// an app of that name, nor the service "shop" before its team does.
	// (Small bundles: a refusal before the body is read drains at most 4 MiB,
	// and closes the connection under a bigger one.)
	small := func(app string) string {
		d := t.TempDir()
		for name, body := range map[string]string{"wharf.yaml": "app: " + app + "\nprocesses:\n  web: ./server --port $PORT\n", "server": "#!/bin/sh\n"} {
			if err := os.WriteFile(filepath.Join(d, name), []byte(body), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	for _, app := range []string{"billing", "shop"} {
		// Straight to the API (the CLI reads the version first) ...
		var buf bytes.Buffer
		if _, err := bundle.Pack(context.Background(), small(app), &buf, bundle.PackOptions{}); err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("PUT", gw+"/api/v1/apps/"+app+"/artifacts/1.0.0", &buf)
		req.Header.Set("Authorization", "Bearer "+tokens["evil"])
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 409 || !strings.Contains(string(b), "reserved") {
			t.Fatalf("evil's push of %s: %d %s", app, res.StatusCode, b)
		}
		// ... and through the CLI.
		_, errOut, code := runWharf(t, dir, as("evil"), "push", small(app), "--version", "1.0.0")
		if code == 0 || !strings.Contains(errOut, "reserved") || !strings.Contains(errOut, "409") {
			t.Fatalf("evil's push of %s: exit %d: %s", app, code, errOut)
		}
	}
	// The team named like the service pushes and deploys it with its own token.
	if out, errOut, code := runWharf(t, dir, as("shop"), "push", bundleDir(t, bin, ""), "--version", "1.0.0"); code != 0 {
		t.Fatalf("shop's push: %s %s", out, errOut)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if _, errOut, code := runWharf(t, dir, as("shop"), "deploy", "shop", "1.0.0", "--watch"); code != 0 {
			return fmt.Errorf("deploy: %s", errOut)
		}
		return nil
	})
	testenv.Eventually(t, 5*time.Second, func() error {
		if code, body := get(t, gw+"/shop/"); code != 200 || !strings.HasPrefix(body, "1.0.0 ") {
			return fmt.Errorf("GET /shop/: %d %q", code, body)
		}
		return nil
	})

	// 3. Another team's app answers like one that does not exist.
	mine, none := call(t, "GET", gw+"/api/v1/apps/shop/deploys", tokens["evil"], nil), call(t, "GET", gw+"/api/v1/apps/ghost/deploys", tokens["evil"], nil)
	if mine.status != 404 || none.status != 404 || strings.ReplaceAll(mine.body["error"].(string), "shop", "ghost") != none.body["error"] {
		t.Fatalf("evil asking about shop: %d %s; about ghost: %d %s", mine.status, mine.raw, none.status, none.raw)
	}
	if _, errOut, code := runWharf(t, dir, as("evil"), "artifacts", "list", "shop"); code == 0 || !strings.Contains(errOut, "not found") {
		t.Fatalf("evil lists shop's artifacts: exit %d %s", code, errOut)
	}

	// 2. A rogue agent token: not the local host, not a service it was not
	// deployed, not another address, not the local agent's instance.
	hosts := call(t, "GET", gw+"/api/v1/agents/hosts", admin, nil)
	list, _ := hosts.body["hosts"].([]any)
	if hosts.status != 200 || len(list) != 1 {
		t.Fatalf("hosts: %s", hosts.raw)
	}
	local := list[0].(map[string]any)["id"].(string)
	r := call(t, "PUT", gw+"/api/v1/agents/hosts/"+local, tokens["rogue"], map[string]any{"id": local})
	if r.status != 403 {
		t.Fatalf("rogue heartbeat for the local host: %d %s", r.status, r.raw)
	}
	ins := call(t, "GET", gw+"/api/v1/services/shop/instances", admin, nil)
	insList, _ := ins.body["instances"].([]any)
	if len(insList) != 2 {
		t.Fatalf("instances: %s", ins.raw)
	}
	localID := insList[0].(map[string]any)["id"].(string)
	reg := func(svc, id, host, addr string) apiResp {
		return call(t, "PUT", gw+"/api/v1/services/"+svc+"/instances/"+id, tokens["rogue"],
			map[string]any{"addr": addr, "labels": map[string]string{"host": host}})
	}
	for _, c := range []struct{ svc, id, host, addr string }{
		{"billing", "x", local, "127.0.0.1:1"},
		{"shop", localID, local, "127.0.0.1:1"},
		{"shop", "rogue.shop.1", local, "127.0.0.1:1"},
	} {
		if r := reg(c.svc, c.id, c.host, c.addr); r.status != 403 {
			t.Fatalf("rogue registers %+v: %d %s", c, r.status, r.raw)
		}
	}
	if r := call(t, "PUT", gw+"/api/v1/agents/hosts/rogue1", tokens["rogue"], map[string]any{"id": "rogue1"}); r.status != 200 {
		t.Fatalf("rogue's own host: %d %s", r.status, r.raw)
	}
	if r := reg("shop", "rogue1.shop.1", "rogue1", "127.0.0.1:1"); r.status != 403 {
		t.Fatalf("rogue registers shop on its own host: %d %s", r.status, r.raw)
	}
	if r := call(t, "DELETE", gw+"/api/v1/services/shop/instances/"+localID, tokens["rogue"], nil); r.status != 404 {
		t.Fatalf("rogue deregisters the local instance: %d %s", r.status, r.raw)
	}
	// Nothing changed: the local agent's instances still serve, alone.
	after := call(t, "GET", gw+"/api/v1/services/shop/instances", admin, nil)
	if list2, _ := after.body["instances"].([]any); len(list2) != 2 || !strings.Contains(after.raw, `"id":"`+localID+`"`) ||
		strings.Contains(after.raw, "rogue") || strings.Contains(after.raw, "127.0.0.1:1\"") {
		t.Fatalf("instances after the rogue: %s", after.raw)
	}
	if code, body := get(t, gw+"/shop/"); code != 200 || !strings.HasPrefix(body, "1.0.0 ") {
		t.Fatalf("GET /shop/: %d %q", code, body)
	}
	// An admin frees a host from its token with the CLI; nobody else can.
	if _, errOut, code := runWharf(t, dir, as("rogue"), "host", "release", "rogue1"); code == 0 || !strings.Contains(errOut, "403") {
		t.Fatalf("rogue releases a host: exit %d %s", code, errOut)
	}
	adminEnv := []string{"WHARF_SERVER=" + gw, "WHARF_TOKEN=" + admin}
	if out, errOut, code := runWharf(t, dir, adminEnv, "host", "release", "rogue1"); code != 0 || !strings.Contains(out, "Host rogue1 released") {
		t.Fatalf("admin releases rogue1: exit %d %s %s", code, out, errOut)
	}
	if _, errOut, code := runWharf(t, dir, adminEnv, "host", "release", "rogue1"); code == 0 || !strings.Contains(errOut, "404") {
		t.Fatalf("release again: exit %d %s", code, errOut)
	}
	if code := p.stop(20 * time.Second); code != 0 {
		t.Fatalf("serve exit %d", code)
	}
}
