package agent

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/artifacts/bundle"
	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/testenv"
)

// snoopScript is what the snoop app runs, in its pre_start hook (tag
// HOOK) and in its worker (tag WORKER): it tries to read every file of
// $SNOOP_FILES and to list every directory of $SNOOP_DIRS and prints one
// line per try, then its id and its environment.
const snoopScript = `tag=$1
for f in $SNOOP_FILES; do
  if out=$(cat "$f" 2>&1 >/dev/null); then echo "SNOOP $tag READ $f"; else echo "SNOOP $tag DENIED $f: $out"; fi
done
for d in $SNOOP_DIRS; do
  if out=$(ls "$d" 2>&1 >/dev/null); then echo "SNOOP $tag LISTED $d"; else echo "SNOOP $tag DENIED $d: $out"; fi
done
echo "SNOOP $tag UID $(id -u) GID $(id -g) GROUPS $(id -G)"
env | sed "s/^/SNOOP $tag ENV /"
echo "SNOOP $tag DONE"
`

// packSnoop packs app: the sample server as web, the snoop script as
// worker and pre_start hook, with env.
func packSnoop(t *testing.T, app string, env map[string]string) []byte {
	t.Helper()
	dir := t.TempDir()
	bin, err := os.ReadFile(sampleBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "server"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "snoop.sh"), []byte(snoopScript), 0o644); err != nil {
		t.Fatal(err)
	}
	var y strings.Builder
	fmt.Fprintf(&y, "app: %s\nprocesses:\n  web: ./server\n  worker: sh ./snoop.sh WORKER; exec sleep 600\n", app)
	y.WriteString("health:\n  path: /healthz\n  timeout: 1s\ninstances: 1\nstop_grace: 1s\n")
	y.WriteString("hooks:\n  pre_start: sh ./snoop.sh HOOK\n")
	y.WriteString("env:\n")
	for k, v := range env {
		fmt.Fprintf(&y, "  %s: %q\n", k, v)
	}
	if err := os.WriteFile(filepath.Join(dir, bundle.ManifestName), []byte(y.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := bundle.Pack(context.Background(), dir, &buf, bundle.PackOptions{}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// snoopLines waits until the logs of app under the agent's data dir hold
// the snoop lines of tag up to DONE, and returns them.
func snoopLines(t *testing.T, agentDir, app, tag string) []string {
	t.Helper()
	var lines []string
	testenv.Eventually(t, 30*time.Second, func() error {
		lines = lines[:0]
		files, _ := filepath.Glob(filepath.Join(agentDir, "logs", app, "*.log"))
		done := false
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			for l := range strings.SplitSeq(string(b), "\n") {
				if rest, ok := strings.CutPrefix(l, "SNOOP "+tag+" "); ok {
					lines = append(lines, rest)
					done = done || rest == "DONE"
				}
			}
		}
		if !done {
			return fmt.Errorf("no SNOOP %s DONE in %s's logs %v yet", tag, app, files)
		}
		return nil
	})
	return lines
}

// TestDeployedCodeCannotReadWharfFiles deploys two apps through the real
// agent (tasks over nsqd, bundles over HTTP) laid out as `wharf serve`
// lays out its data dir, and has the second one (its hook and its
// worker) try to read Wharf's tokens, store, the agent's state, outbox
// and logs, and the first app's release and logs: every read must be a
// permission error, its environment must hold no Wharf credential, and
// the two apps must run as different unprivileged users.
func TestDeployedCodeCannotReadWharfFiles(t *testing.T) {
	testenv.RequireRoot(t)
	const agentToken, adminToken = "wharf_agent_secret_42", "wharf_admin_secret_42"
	t.Setenv("WHARF_TOKEN", adminToken)
	t.Setenv("WHARF_AGENT_TOKEN", agentToken)

	h := newHarness(t)
	data := h.dir // like serve's data dir: tokens and store beside the agent's dir
	if err := os.Chmod(data, 0o711); err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{"admin.token": adminToken, "agent.token": agentToken, "store.db": "store " + adminToken}
	for name, content := range secrets {
		if err := os.WriteFile(filepath.Join(data, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	agentDir := filepath.Join(data, "agent")
	opts := h.options()
	opts.DataDir = agentDir
	h.start(opts)

	alphaSHA := h.cp.addApp("alpha", "1.0.0", packSnoop(t, "alpha", map[string]string{"SNOOP_FILES": "/nonexistent"}))
	h.publish(taskOf("d-alpha", 1, "alpha", h.host, "1.0.0", alphaSHA))
	if ev := h.waitFinal("d-alpha", 1, 60*time.Second); ev.State != wire.PhaseHealthy {
		t.Fatalf("deploy of alpha: %s: %s\n%s", ev.State, ev.Msg, ev.LogTail)
	}
	alphaLogs, _ := filepath.Glob(filepath.Join(agentDir, "logs", "alpha", "*.log"))
	if len(alphaLogs) == 0 {
		t.Fatal("alpha has no logs")
	}
	files := []string{
		filepath.Join(data, "admin.token"), filepath.Join(data, "agent.token"), filepath.Join(data, "store.db"),
		filepath.Join(agentDir, StateFileName), filepath.Join(agentDir, "outbox.db"), filepath.Join(agentDir, EventKeyFileName),
		filepath.Join(agentDir, "apps", "alpha", "releases", "1.0.0", "server"),
		filepath.Join(agentDir, "apps", "alpha", "releases", "1.0.0", "snoop.sh"),
		filepath.Join(agentDir, "apps", "alpha", "current", "server"),
		alphaLogs[0],
		filepath.Join(agentDir, "logs", "beta", "1.0.0.worker.0.log"), // its own logs are the agent's too
	}
	dirs := []string{data, agentDir, filepath.Join(agentDir, "apps"), filepath.Join(agentDir, "apps", "alpha"), filepath.Join(agentDir, "logs")}
	betaSHA := h.cp.addApp("beta", "1.0.0", packSnoop(t, "beta", map[string]string{
		"SNOOP_FILES": strings.Join(append(files, "./snoop.sh"), " "), "SNOOP_DIRS": strings.Join(dirs, " "),
	}))
	h.publish(taskOf("d-beta", 1, "beta", h.host, "1.0.0", betaSHA))
	if ev := h.waitFinal("d-beta", 1, 60*time.Second); ev.State != wire.PhaseHealthy {
		t.Fatalf("deploy of beta: %s: %s\n%s", ev.State, ev.Msg, ev.LogTail)
	}

	alphaID := ""
	for _, l := range snoopLines(t, agentDir, "alpha", "WORKER") {
		if rest, ok := strings.CutPrefix(l, "UID "); ok {
			alphaID = rest
		}
	}
	for _, tag := range []string{"HOOK", "WORKER"} {
		lines := snoopLines(t, agentDir, "beta", tag)
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
				if strings.Contains(l, agentToken) || strings.Contains(l, adminToken) || strings.Contains(l, h.cp.token) ||
					strings.HasPrefix(l, "ENV WHARF_TOKEN=") || strings.HasPrefix(l, "ENV WHARF_AGENT_TOKEN=") {
					t.Errorf("%s: the app's environment holds a Wharf credential: %s", tag, l)
				}
			case strings.HasPrefix(l, "UID "):
				if strings.HasPrefix(l, "UID 0 ") || strings.Contains(l, "GID 0 ") {
					t.Errorf("%s: the app runs as root: %s", tag, l)
				}
				if fields := strings.Fields(l); len(fields) != 6 || fields[5] != fields[3] {
					t.Errorf("%s: the app has supplementary groups: %s", tag, l)
				}
				if l[len("UID "):] == alphaID {
					t.Errorf("%s: beta runs as the same user as alpha: %s", tag, l)
				}
			}
		}
		for _, p := range append(files, dirs...) {
			if why := got[p]; !strings.Contains(why, "Permission denied") {
				t.Errorf("%s: beta's try on %s: %q, want a permission error", tag, p, why)
			}
		}
		if got["./snoop.sh"] != "READ" {
			t.Errorf("%s: beta cannot read its own release (./snoop.sh: %q)", tag, got["./snoop.sh"])
		}
	}
	if t.Failed() {
		t.Logf("beta's worker saw:\n%s", strings.Join(snoopLines(t, agentDir, "beta", "WORKER"), "\n"))
	}
}

// taskOf is a deploy task of app.
func taskOf(deployID string, id int, app, host, version, sha string) wire.Task {
	return wire.Task{DeployID: deployID, App: app, Host: host, TaskID: id, Kind: wire.TaskDeploy, Version: version, SHA256: sha}
}
