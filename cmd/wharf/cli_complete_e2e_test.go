package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// completions runs cobra's hidden __complete command (what the shell
// scripts call) and returns the offered names and the directive line.
func completions(t *testing.T, c cli, args ...string) ([]string, string) {
	t.Helper()
	out, errOut, code := runWharf(t, c.dir, c.env, append([]string{"__complete"}, args...)...)
	if code != 0 {
		t.Fatalf("__complete %v: exit %d %s", args, code, errOut)
	}
	lines := readLines(out)
	if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], ":") {
		t.Fatalf("__complete %v: no directive in %q", args, out)
	}
	var names []string
	for _, l := range lines[:len(lines)-1] {
		if !strings.Contains(l, "\t") { // subcommands come with their description
			names = append(names, l)
		}
	}
	return names, lines[len(lines)-1]
}

func wantNames(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("%s: completions %q, want %q", what, got, want)
	}
}

// Shell completion: the scripts for every shell, and dynamic completion of
// app names, versions, services, rooms and deploy ids fetched from a real
// server with the command's credentials; nothing (and no error) when the
// server cannot be reached.
func TestShellCompletion(t *testing.T) {
	dir := t.TempDir()
	t.Cleanup(func() { killUnder(dir) })
	p := startWharf(t, dir, nil, serveArgs(t)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	p.waitFor(reToken, 5*time.Second)
	c := cli{t: t, dir: dir, env: []string{"WHARF_SERVER=" + gw}}

	for shell, want := range map[string]string{"bash": "__start_wharf", "zsh": "#compdef wharf", "fish": "complete -c wharf", "powershell": "Register-ArgumentCompleter"} {
		if out := c.ok("completion", shell); !strings.Contains(out, want) {
			t.Errorf("completion %s lacks %q", shell, want)
		}
	}

	writeAppDir(t, dir, "shop")
	writeAppDir(t, dir, "cart")
	c.ok("push", "./shop", "--version", "1.0.0")
	c.ok("push", "./shop", "--version", "1.1.0")
	c.ok("push", "./cart", "--version", "2.0.0")
	svc := filepath.Join(dir, "svc.yaml")
	if err := os.WriteFile(svc, []byte("instances: [{addr: \"127.0.0.1:1\", room: bj}, {addr: \"127.0.0.1:2\", room: sh}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.ok("service", "put", "web", "-f", svc)

	names, dir0 := completions(t, c, "deploy", "")
	wantNames(t, "deploy APP", names, "cart", "shop")
	if dir0 != ":4" {
		t.Errorf("directive %s, want :4 (no file completion)", dir0)
	}
	names, _ = completions(t, c, "deploy", "sh")
	wantNames(t, "deploy sh", names, "shop")
	names, _ = completions(t, c, "deploy", "shop", "")
	wantNames(t, "deploy shop VERSION", names, "1.0.0", "1.1.0")
	names, _ = completions(t, c, "artifacts", "show", "cart", "")
	wantNames(t, "artifacts show cart VERSION", names, "2.0.0")
	names, _ = completions(t, c, "rollback", "shop", "--to", "1.")
	wantNames(t, "rollback --to", names, "1.0.0", "1.1.0")
	names, _ = completions(t, c, "service", "show", "")
	wantNames(t, "service show", names, "web")
	names, _ = completions(t, c, "route", "delete", "wharf-a")
	wantNames(t, "route delete (built-in names too)", names, "wharf-api", "wharf-artifacts")
	names, _ = completions(t, c, "room", "switch", "web", "--to", "")
	wantNames(t, "room switch --to", names, "bj", "sh")
	names, _ = completions(t, c, "apps", "list", "-o", "")
	wantNames(t, "-o", names, "table", "json")

	// Deploy ids: the app first (with the dot, no space), then its deploys.
	names, d := completions(t, c, "deploy", "status", "")
	wantNames(t, "deploy status", names, "cart.", "shop.")
	if d != ":6" {
		t.Errorf("directive %s, want :6 (no space, no files)", d)
	}
	var started deployView
	if err := json.Unmarshal([]byte(c.ok("deploy", "cart", "2.0.0", "-o", "json")), &started); err != nil || started.ID == "" {
		t.Fatalf("deploy: %+v %v", started, err)
	}
	names, _ = completions(t, c, "deploy", "status", "cart.")
	wantNames(t, "deploy status cart.", names, started.ID)

	// Unreachable server or no token: nothing offered, no error.
	off := cli{t: t, dir: dir, env: []string{"WHARF_SERVER=http://127.0.0.1:1"}}
	names, _ = completions(t, off, "deploy", "")
	wantNames(t, "offline", names)
	names, _ = completions(t, cli{t: t, dir: t.TempDir(), env: []string{"WHARF_SERVER=" + gw}}, "deploy", "")
	wantNames(t, "no token", names)
}
