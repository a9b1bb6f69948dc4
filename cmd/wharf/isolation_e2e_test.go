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

// snoopScript tries, as the deployed app, to read every file of
// $SNOOP_FILES and to list every directory of $SNOOP_DIRS, and prints
// one line per try, its ids and its environment.
const snoopScript = `for f in $SNOOP_FILES; do
  if out=$(cat "$f" 2>&1 >/dev/null); then echo "SNOOP READ $f"; else echo "SNOOP DENIED $f: $out"; fi
done
for d in $SNOOP_DIRS; do
  if out=$(ls "$d" 2>&1 >/dev/null); then echo "SNOOP LISTED $d"; else echo "SNOOP DENIED $d: $out"; fi
done
echo "SNOOP UID $(id -u) GID $(id -g) GROUPS $(id -G)"
env | sed "s/^/SNOOP ENV /"
echo "SNOOP DONE"
`

// snoopBundle writes a bundle dir of app: the sample server as web and
// the snoop script as worker, with env lines for the manifest.
func snoopBundle(t *testing.T, bin, app, env string) string {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "server"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "snoop.sh"), []byte(snoopScript), 0o644); err != nil {
		t.Fatal(err)
	}
	manifest := "app: " + app + "\nprocesses:\n  web: ./server\n  worker: sh ./snoop.sh; exec sleep 600\n" +
		"health:\n  path: /healthz\n  timeout: 1s\ninstances: 1\nstop_grace: 1s\nenv:\n" + env
	if err := os.WriteFile(filepath.Join(dir, "wharf.yaml"), []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestServeDeployedCodeCannotReadWharfFiles: `wharf serve` as root with
// nothing configured; a team pushes and deploys two apps with the CLI;
// the second one tries to read serve's admin and agent tokens, store,
// outbox, the agent's state, and the first app's release and logs. Every
// try is a permission error, the app runs as its own unprivileged user
// and its environment has none of serve's credentials.
func TestServeDeployedCodeCannotReadWharfFiles(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	t.Cleanup(func() { killUnder(dir) })
	const secret = "wharf_env_secret_of_serve"
	p := startWharf(t, dir, []string{"WHARF_AGENT_DRAIN_DELAY=200ms", "WHARF_TOKEN=" + secret, "WHARF_AGENT_TOKEN=" + secret}, serveArgs(t)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	p.waitFor(reToken, 5*time.Second)
	data := filepath.Join(dir, "data")
	admin, err := os.ReadFile(filepath.Join(data, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"WHARF_SERVER=" + gw, "WHARF_TOKEN=" + strings.TrimSpace(string(admin))}
	run := func(args ...string) string {
		t.Helper()
		out, errOut, code := runWharf(t, dir, env, args...)
		if code != 0 {
			t.Fatalf("wharf %v: exit %d\n%s\n%s", args, code, out, errOut)
		}
		return out
	}
	bin := buildSampleApp(t, t.TempDir())
	run("push", snoopBundle(t, bin, "alpha", "  SNOOP_FILES: /nonexistent\n"), "--version", "1.0.0")
	testenv.Eventually(t, 10*time.Second, func() error { // the local agent reports in within a heartbeat
		if _, errOut, code := runWharf(t, dir, env, "deploy", "alpha", "1.0.0", "--watch"); code != 0 {
			return fmt.Errorf("deploy: %s", errOut)
		}
		return nil
	})
	agentDir := filepath.Join(data, "agent")
	alphaLogs, _ := filepath.Glob(filepath.Join(agentDir, "logs", "alpha", "*.log"))
	if len(alphaLogs) == 0 {
		t.Fatal("alpha has no logs")
	}
	files := []string{
		filepath.Join(data, "admin.token"), filepath.Join(data, "agent.token"), filepath.Join(data, "store.db"),
		filepath.Join(data, "outbox.db"), filepath.Join(agentDir, "agent-state.json"), filepath.Join(agentDir, "outbox.db"), filepath.Join(agentDir, "event.key"),
		filepath.Join(agentDir, "apps", "alpha", "releases", "1.0.0", "server"),
		filepath.Join(agentDir, "apps", "alpha", "current", "snoop.sh"), alphaLogs[0],
	}
	dirs := []string{data, filepath.Join(data, "artifacts"), filepath.Join(data, "nsqd"), agentDir,
		filepath.Join(agentDir, "apps"), filepath.Join(agentDir, "apps", "alpha"), filepath.Join(agentDir, "logs")}
	for _, f := range append(files, dirs...) {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("serve has no %s to snoop on: %v", f, err)
		}
	}
	run("push", snoopBundle(t, bin, "beta", fmt.Sprintf("  SNOOP_FILES: %q\n  SNOOP_DIRS: %q\n",
		strings.Join(append(files, "./snoop.sh"), " "), strings.Join(dirs, " "))), "--version", "1.0.0")
	run("deploy", "beta", "1.0.0", "--watch")

	var lines []string
	testenv.Eventually(t, 30*time.Second, func() error {
		lines = lines[:0]
		logs, _ := filepath.Glob(filepath.Join(agentDir, "logs", "beta", "*worker*.log"))
		for _, f := range logs {
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			for l := range strings.SplitSeq(string(b), "\n") {
				if rest, ok := strings.CutPrefix(l, "SNOOP "); ok {
					lines = append(lines, rest)
				}
			}
		}
		if len(lines) == 0 || lines[len(lines)-1] != "DONE" {
			return fmt.Errorf("beta's worker has not finished snooping: %q", lines)
		}
		return nil
	})
	got := map[string]string{}
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "READ "), strings.HasPrefix(l, "LISTED "):
			verb, path, _ := strings.Cut(l, " ")
			got[path] = verb
		case strings.HasPrefix(l, "DENIED "):
			path, why, _ := strings.Cut(strings.TrimPrefix(l, "DENIED "), ": ")
			got[path] = why
		case strings.HasPrefix(l, "ENV "):
			if strings.Contains(l, secret) || strings.Contains(l, strings.TrimSpace(string(admin))) || strings.HasPrefix(l, "ENV WHARF_TOKEN=") {
				t.Errorf("the app's environment holds a Wharf credential: %s", l)
			}
		case strings.HasPrefix(l, "UID "):
			if f := strings.Fields(l); len(f) != 6 || f[1] == "0" || f[3] == "0" || f[5] != f[3] {
				t.Errorf("the app runs as %s, want an unprivileged user without supplementary groups", l)
			}
		}
	}
	for _, f := range append(files, dirs...) {
		if why := got[f]; !strings.Contains(why, "Permission denied") {
			t.Errorf("beta's try on %s: %q, want a permission error", f, why)
		}
	}
	if got["./snoop.sh"] != "READ" {
		t.Errorf("beta cannot read its own release: %q", got["./snoop.sh"])
	}
	if t.Failed() {
		t.Logf("beta saw:\n%s", strings.Join(lines, "\n"))
	}
}
