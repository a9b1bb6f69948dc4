package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

// startEcho runs a tiny upstream that answers "echo <path>".
func startEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "echo %s", r.URL.Path)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := make([]byte, 4096)
	n, _ := resp.Body.Read(b)
	return resp.StatusCode, string(b[:n])
}

// TestServeEdgeConfigCLI drives the gateway the way an operator does: YAML
// config at start, then the CLI for limits, routes, bans and history; API
// changes survive a restart with the same file.
func TestServeEdgeConfigCLI(t *testing.T) {
	dir := t.TempDir()
	up := startEcho(t)
	cfg := filepath.Join(dir, "wharf.yaml")
	yaml := fmt.Sprintf(`gateway:
  acl: {deny: ["203.0.113.0/24"]}
limits:
  - {name: per_ip, key: ip, rate: 100r/s, burst: 20, nodelay: true}
services:
  - name: shop
    instances: [{addr: "%s"}]
routes:
  - {name: shop, path: /shop/, service: shop, limits: [per_ip]}
`, up)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append(serveArgs(t), "--config", cfg)
	p := startWharf(t, dir, nil, args...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	p.waitFor(reToken, 5*time.Second)
	env := []string{"WHARF_SERVER=" + gw}

	if code, body := get(t, gw+"/shop/cart"); code != 200 || body != "echo /shop/cart" {
		t.Fatalf("proxied: %d %q", code, body)
	}
	// A stricter limit from a file, through the CLI.
	lim := filepath.Join(dir, "limit.yaml")
	_ = os.WriteFile(lim, []byte("key: ip\nrate: 1r/m\nnodelay: true\n"), 0o600)
	if out, errOut, code := runWharf(t, dir, env, "limit", "put", "strict", "-f", lim); code != 0 || !strings.Contains(out, "version 2") {
		t.Fatalf("limit put: %d %s %s", code, out, errOut)
	}
	route := filepath.Join(dir, "route.yaml")
	_ = os.WriteFile(route, []byte("path: /shop/\nservice: shop\nlimits: [strict]\n"), 0o600)
	if out, errOut, code := runWharf(t, dir, env, "route", "put", "shop", "-f", route); code != 0 {
		t.Fatalf("route put: %d %s %s", code, out, errOut)
	}
	testenv.Eventually(t, time.Second, func() error {
		if code, _ := get(t, gw+"/shop/x"); code != 429 {
			return errString(fmt.Sprintf("status %d, want 429 once the strict limit applies", code))
		}
		return nil
	})
	// Bad input is refused with the field named, and nothing changes.
	_ = os.WriteFile(lim, []byte("key: ip\nrate: 0r/s\n"), 0o600)
	if _, errOut, code := runWharf(t, dir, env, "limit", "put", "bad", "-f", lim); code == 0 || !strings.Contains(errOut, "HTTP 400") || !strings.Contains(errOut, "rate") {
		t.Fatalf("bad limit: %d %s", code, errOut)
	}
	// Bans: a route-scoped ban of this client, listed, then lifted.
	if out, errOut, code := runWharf(t, dir, env, "acl", "ban", "127.0.0.1", "--for", "10m", "--reason", "scraping", "--route", "shop", "--force"); code != 0 || !strings.Contains(out, "on route shop") {
		t.Fatalf("ban: %d %s %s", code, out, errOut)
	}
	if out, _, code := runWharf(t, dir, env, "acl", "ban", "192.0.2.0/24", "--for", "1h"); code != 0 || !strings.Contains(out, "everywhere") {
		t.Fatalf("global ban: %d %s", code, out)
	}
	testenv.Eventually(t, time.Second, func() error {
		if code, _ := get(t, gw+"/shop/x"); code != 403 {
			return errString(fmt.Sprintf("status %d, want 403 once banned", code))
		}
		return nil
	})
	out, _, code := runWharf(t, dir, env, "acl", "bans")
	if code != 0 || !strings.Contains(out, "127.0.0.1/32") || !strings.Contains(out, "scraping") || !strings.Contains(out, "192.0.2.0/24") {
		t.Fatalf("bans: %d\n%s", code, out)
	}
	if _, errOut, code := runWharf(t, dir, env, "acl", "unban", "127.0.0.1", "--route", "shop"); code != 0 {
		t.Fatalf("unban: %s", errOut)
	}
	if _, errOut, code := runWharf(t, dir, env, "acl", "ban", "1.2.3.4"); code == 0 || !strings.Contains(errOut, "--for is required") {
		t.Fatalf("ban without --for: %d %s", code, errOut)
	}
	out, _, code = runWharf(t, dir, env, "edge", "history")
	if code != 0 || !strings.Contains(out, "put route shop") || !strings.Contains(out, "put limit strict") || !strings.Contains(out, "seed from config file") {
		t.Fatalf("history: %d\n%s", code, out)
	}
	if out, _, code = runWharf(t, dir, env, "edge", "stats", "-o", "json"); code != 0 || !strings.Contains(out, `"shop"`) {
		t.Fatalf("stats: %d\n%s", code, out)
	}
	p.stop(10 * time.Second)

	// Restart with the same file: the API's changes are kept.
	p = startWharf(t, dir, nil, args...)
	gw = p.waitFor(reGateway, 30*time.Second)[1]
	out, _, code = runWharf(t, dir, []string{"WHARF_SERVER=" + gw}, "route", "show", "shop", "-o", "json")
	if code != 0 || !strings.Contains(out, `"strict"`) {
		t.Fatalf("route after restart: %d\n%s", code, out)
	}
	p.stop(10 * time.Second)
}
