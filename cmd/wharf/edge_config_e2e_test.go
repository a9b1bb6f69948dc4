package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

// edgeYAML is a config file with one limit, one service and the given extra
// routes besides the shop route.
func edgeYAML(up string, burst int, routes ...string) string {
	s := fmt.Sprintf(`limits:
  - {name: per_ip, key: ip, rate: 100r/s, burst: %d, nodelay: true}
services:
  - name: shop
    instances: [{addr: "%s"}]
routes:
  - {name: shop, path: /shop/, service: shop, limits: [per_ip]}
`, burst, up)
	for _, r := range routes {
		s += fmt.Sprintf("  - {name: %s, path: /%s/, service: shop}\n", r, r)
	}
	return s
}

// waitStatus waits until GET url answers with the status code.
func waitStatus(t *testing.T, url string, want int) {
	t.Helper()
	testenv.Eventually(t, 5*time.Second, func() error {
		if code, body := get(t, url); code != want {
			return errString(fmt.Sprintf("GET %s: %d %q, want %d", url, code, body, want))
		}
		return nil
	})
}

// TestEdgeConfigSurvivesRestartApplyAndRollback is the "no silent loss of
// configuration" rule end to end: a route added through the API survives a
// restart with a different config file, the start says loudly that the file
// differs (and how to apply it), `edge apply -f` shows the diff and applies
// it only when confirmed, a file equal to the store is silent, every version
// is in the history and a rollback restores one as a new version.
func TestEdgeConfigSurvivesRestartApplyAndRollback(t *testing.T) {
	dir := t.TempDir()
	up := startEcho(t)
	cfg := filepath.Join(dir, "wharf.yaml")
	if err := os.WriteFile(cfg, []byte(edgeYAML(up, 20)), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append(serveArgs(t), "--config", cfg)
	p := startWharf(t, dir, nil, args...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	p.waitFor(reToken, 5*time.Second)
	env := []string{"WHARF_SERVER=" + gw}
	waitStatus(t, gw+"/shop/x", 200)

	// A route added through the API (version 2).
	route := filepath.Join(dir, "route.yaml")
	_ = os.WriteFile(route, []byte("path: /extra/\nservice: shop\n"), 0o600)
	if out, errOut, code := runWharf(t, dir, env, "route", "put", "extra", "-f", route); code != 0 || !strings.Contains(out, "version 2") {
		t.Fatalf("route put: %d %s %s", code, out, errOut)
	}
	waitStatus(t, gw+"/extra/x", 200)
	p.stop(10 * time.Second)

	// Restart with a different file: the API's route survives, the file's
	// new route is not applied, and the start says so loudly.
	if err := os.WriteFile(cfg, []byte(edgeYAML(up, 5, "docs")), 0o600); err != nil {
		t.Fatal(err)
	}
	p = startWharf(t, dir, nil, args...)
	gw = p.waitFor(reGateway, 30*time.Second)[1]
	env = []string{"WHARF_SERVER=" + gw}
	waitStatus(t, gw+"/extra/x", 200)
	waitStatus(t, gw+"/docs/x", 404)
	logs := p.errOut()
	if !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "differs") ||
		!strings.Contains(logs, "route docs added") || !strings.Contains(logs, "route extra removed") ||
		!strings.Contains(logs, "limit per_ip changed") || !strings.Contains(logs, "wharf edge apply -f "+cfg) {
		t.Fatalf("the start must warn about the difference and name the command:\n%s", logs)
	}
	out, errOut, code := runWharf(t, dir, env, "edge", "status")
	if code != 0 || !strings.Contains(out, "differs") || !strings.Contains(out, "route docs added") || !strings.Contains(out, "version 2") {
		t.Fatalf("edge status: %d %s %s", code, out, errOut)
	}

	// --dry-run shows the diff and changes nothing.
	out, errOut, code = runWharf(t, dir, env, "edge", "apply", "-f", cfg, "--dry-run")
	if code != 0 || !strings.Contains(out, "+ route docs") || !strings.Contains(out, "- route extra") ||
		!strings.Contains(out, "~ limit per_ip") || !strings.Contains(out, "burst: 20 -> 5") {
		t.Fatalf("dry run: %d %s %s", code, out, errOut)
	}
	// Without a terminal and without --yes nothing is applied.
	if out, errOut, code = runWharf(t, dir, env, "edge", "apply", "-f", cfg); code == 0 || !strings.Contains(errOut, "--yes") {
		t.Fatalf("apply without --yes: %d %s %s", code, out, errOut)
	}
	waitStatus(t, gw+"/docs/x", 404)
	// With --yes: applied as version 3.
	out, errOut, code = runWharf(t, dir, env, "edge", "apply", "-f", cfg, "--yes")
	if code != 0 || !strings.Contains(out, "+ route docs") || !strings.Contains(out, "version 3") {
		t.Fatalf("apply: %d %s %s", code, out, errOut)
	}
	waitStatus(t, gw+"/docs/x", 200)
	waitStatus(t, gw+"/extra/x", 404)
	out, _, _ = runWharf(t, dir, env, "edge", "status")
	if !strings.Contains(out, "matches") {
		t.Fatalf("status after apply: %s", out)
	}
	p.stop(10 * time.Second)

	// A file equal to the stored config is silent.
	p = startWharf(t, dir, nil, args...)
	gw = p.waitFor(reGateway, 30*time.Second)[1]
	env = []string{"WHARF_SERVER=" + gw}
	waitStatus(t, gw+"/docs/x", 200)
	if logs := p.errOut(); strings.Contains(logs, "level=WARN") && strings.Contains(logs, "differs") {
		t.Fatalf("an identical file must not warn:\n%s", logs)
	}

	// Rollback to version 2 shows the diff and writes version 4.
	out, errOut, code = runWharf(t, dir, env, "edge", "rollback", "2", "--yes")
	if code != 0 || !strings.Contains(out, "+ route extra") || !strings.Contains(out, "- route docs") || !strings.Contains(out, "version 4") {
		t.Fatalf("rollback: %d %s %s", code, out, errOut)
	}
	waitStatus(t, gw+"/extra/x", 200)
	waitStatus(t, gw+"/docs/x", 404)
	if _, errOut, code = runWharf(t, dir, env, "edge", "rollback", "99", "--yes"); code == 0 || !strings.Contains(errOut, "404") {
		t.Fatalf("rollback to an unknown version: %d %s", code, errOut)
	}

	// Every version is in the history, none rewritten.
	out, errOut, code = runWharf(t, dir, env, "edge", "history")
	if code != 0 {
		t.Fatalf("history: %d %s", code, errOut)
	}
	lines := readLines(out)
	want := []string{"4 ", "3 ", "2 ", "1 "}
	if len(lines) != 5 {
		t.Fatalf("history must list 4 versions:\n%s", out)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i+1], w) {
			t.Fatalf("history line %d %q, want version %s:\n%s", i+1, lines[i+1], w, out)
		}
	}
	for _, w := range []string{"rollback to version 2", "apply wharf.yaml", "put route extra", "seed:" + cfg} {
		if !strings.Contains(out, w) {
			t.Fatalf("history lacks %q:\n%s", w, out)
		}
	}
	p.stop(10 * time.Second)
}
