package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRouteRewritesFromTheCLI: rewrites and segment matching as an operator
// uses them against a real `serve`: `edge apply` shows them in the diff and
// applies them, requests reach the upstream rewritten, a changed prefix is
// shown field by field, and bad ones (file or `route put`) are refused
// naming the field, changing nothing.
func TestRouteRewritesFromTheCLI(t *testing.T) {
	dir := t.TempDir()
	up := startEcho(t)
	cfg := filepath.Join(dir, "wharf.yaml")
	write := func(path, s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(cfg, edgeYAML(up, 20))
	p := startWharf(t, dir, nil, append(serveArgs(t), "--config", cfg)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	p.waitFor(reToken, 5*time.Second)
	env := []string{"WHARF_SERVER=" + gw}
	waitStatus(t, gw+"/shop/x", 200)

	rewrites := func(prefix string) string {
		return edgeYAML(up, 20) +
			"  - {name: store, path: /store, service: shop, match: segment, strip_prefix: true}\n" +
			"  - {name: moved, path: /old/, service: shop, rewrite: {prefix: " + prefix + "}}\n"
	}
	write(cfg, rewrites("/new/"))
	out, errOut, code := runWharf(t, dir, env, "edge", "apply", "-f", cfg, "--dry-run")
	if code != 0 || !strings.Contains(out, "+ route store") || !strings.Contains(out, "+ route moved") {
		t.Fatalf("dry run: %d %s %s", code, out, errOut)
	}
	out, errOut, code = runWharf(t, dir, env, "edge", "apply", "-f", cfg, "--yes")
	if code != 0 || !strings.Contains(out, "version 2") {
		t.Fatalf("apply: %d %s %s", code, out, errOut)
	}
	waitStatus(t, gw+"/store/cart", 200)
	for path, want := range map[string]string{"/store/cart": "echo /cart", "/store": "echo /", "/old/a/b": "echo /new/a/b", "/shop/x": "echo /shop/x"} {
		if code, body := get(t, gw+path); code != 200 || body != want {
			t.Errorf("GET %s: %d %q, want %q", path, code, body, want)
		}
	}
	if code, body := get(t, gw+"/storefront"); code != 404 {
		t.Errorf("GET /storefront on a segment route: %d %q, want 404", code, body)
	}

	// A changed prefix is shown as the field that changes.
	write(cfg, rewrites("/v2/"))
	out, errOut, code = runWharf(t, dir, env, "edge", "apply", "-f", cfg, "--dry-run")
	if code != 0 || !strings.Contains(out, "~ route moved") || !strings.Contains(out, `rewrite: {"prefix":"/new/"} -> {"prefix":"/v2/"}`) {
		t.Fatalf("dry run of a changed prefix: %d %s %s", code, out, errOut)
	}

	// Bad rewrites are refused naming the field; nothing changes.
	for prefix, msg := range map[string]string{
		"/a/../":  `routes[2].rewrite.prefix: must not hold "//" or a "." or ".." segment`,
		"new/":    `routes[2].rewrite.prefix: must start with /`,
		"/newer":  `routes[2].rewrite.prefix: must end with / because the route path "/old/" does`,
		"'/a b/'": `routes[2].rewrite.prefix: must hold only URI path characters`,
	} {
		write(cfg, rewrites(prefix))
		if out, errOut, code = runWharf(t, dir, env, "edge", "apply", "-f", cfg, "--yes"); code == 0 || !strings.Contains(errOut, msg) {
			t.Errorf("apply with prefix %s: %d %s %s; want an error with %q", prefix, code, out, errOut, msg)
		}
	}
	route := filepath.Join(dir, "route.yaml")
	write(route, "path: /x/\nservice: shop\nstrip_prefix: true\nrewrite: {prefix: /y/}\n")
	if out, errOut, code = runWharf(t, dir, env, "route", "put", "x", "-f", route); code == 0 || !strings.Contains(errOut, "strip_prefix: cannot be set together with rewrite") {
		t.Errorf("route put with strip_prefix and rewrite: %d %s %s", code, out, errOut)
	}
	write(route, "path: /x/\nservice: shop\nmatch: exact\n")
	if out, errOut, code = runWharf(t, dir, env, "route", "put", "x", "-f", route); code == 0 || !strings.Contains(errOut, `match: must be prefix or segment, got \"exact\"`) && !strings.Contains(errOut, `match: must be prefix or segment, got "exact"`) {
		t.Errorf("route put with a bad match: %d %s %s", code, out, errOut)
	}
	out, _, _ = runWharf(t, dir, env, "edge", "status")
	if !strings.Contains(out, "version 2") {
		t.Fatalf("refused writes changed the config: %s", out)
	}
	if code, body := get(t, gw+"/old/a"); code != 200 || body != "echo /new/a" {
		t.Fatalf("after refused writes: %d %q", code, body)
	}

	// A first start with a bad rewrite in its file refuses to start.
	fresh := t.TempDir()
	bad := filepath.Join(fresh, "wharf.yaml")
	write(bad, rewrites("/a//b/"))
	if out, errOut, code = runWharf(t, fresh, nil, append(serveArgs(t), "--config", bad)...); code == 0 || !strings.Contains(errOut, `routes[2].rewrite.prefix: must not hold "//"`) {
		t.Fatalf("serve with a bad rewrite: %d %s %s", code, out, errOut)
	}
}
