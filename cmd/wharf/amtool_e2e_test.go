package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// amtoolBin finds amtool (infra/deps.sh installs it); a missing one is
// a failure naming how to get it.
func amtoolBin(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("amtool")
	if err != nil {
		t.Fatal("amtool is missing: run infra/deps.sh (Debian package prometheus-alertmanager)")
	}
	return p
}

// amtool runs amtool against gw with token through --http.config.file,
// as the docs tell users to.
type amtool struct {
	t       *testing.T
	bin, gw string
	config  string
}

func newAmtool(t *testing.T, gw, token string) amtool {
	cfg := filepath.Join(t.TempDir(), "http.yml")
	if err := os.WriteFile(cfg, []byte("authorization:\n  credentials: "+token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return amtool{t: t, bin: amtoolBin(t), gw: gw, config: cfg}
}

// run returns amtool's stdout, and its stderr in the error when it
// fails. (amtool warns on stderr that its version and Wharf's differ.)
func (a amtool) run(args ...string) (string, error) {
	a.t.Helper()
	full := append([]string{"--alertmanager.url=" + a.gw, "--http.config.file=" + a.config}, args...)
	cmd := exec.Command(a.bin, full...)
	cmd.Env = append(os.Environ(), "HOME="+a.t.TempDir())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%w: %s", err, stderr.String())
	}
	return string(out), nil
}

func (a amtool) ok(args ...string) string {
	a.t.Helper()
	out, err := a.run(args...)
	if err != nil {
		a.t.Fatalf("amtool %v: %v\n%s", args, err, out)
	}
	return out
}

// TestAmtoolAgainstServe: amtool, unmodified, adds, queries and expires
// silences and queries alerts against a real serve's gateway with a team
// token given through --http.config.file; without the token it gets 401.
func TestAmtoolAgainstServe(t *testing.T) {
	dir := t.TempDir()
	p := startWharf(t, dir, nil, append(serveArgs(t), "--agent-local=false")...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	admin := p.waitFor(reToken, 5*time.Second)[1]
	r := call(t, "POST", gw+"/api/v1/tokens", admin, map[string]any{"name": "shop", "scopes": []string{"team:shop"}})
	if r.status != 201 {
		t.Fatalf("token: %d %s", r.status, r.raw)
	}
	am := newAmtool(t, gw, r.body["token"].(string))
	id := strings.TrimSpace(am.ok("silence", "add", "alertname=cpu", `priority=~"[0-2]"`, "--comment=db maintenance", "--duration=2h", "--author=ann"))
	if len(id) != 36 {
		t.Fatalf("silence add printed %q, want an id", id)
	}
	q := am.ok("silence", "query", "-o", "json")
	var sils []struct {
		ID       string
		Status   struct{ State string }
		Matchers []struct{ Name, Value string }
		Comment  string
	}
	if err := json.Unmarshal([]byte(q), &sils); err != nil || len(sils) != 1 || sils[0].ID != id || sils[0].Status.State != "active" ||
		sils[0].Comment != "db maintenance" || len(sils[0].Matchers) != 3 {
		t.Fatalf("silence query: %v %s", err, q)
	}
	wantLines(t, "silence query (table)", am.ok("silence", "query", "alertname=cpu"), id, "ann", "db maintenance")
	if out := am.ok("silence", "query", "-q", "alertname=disk"); strings.TrimSpace(out) != "" {
		t.Fatalf("query alertname=disk: %q", out)
	}
	am.ok("silence", "expire", id)
	if out := am.ok("silence", "query", "-q"); strings.TrimSpace(out) != "" {
		t.Fatalf("after expire: %q", out)
	}
	wantLines(t, "expired", am.ok("silence", "query", "--expired", "-q"), id)
	if out := am.ok("alert", "query", "-o", "json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("alert query: %q", out)
	}
	bad := amtool{t: t, bin: am.bin, gw: gw, config: filepath.Join(t.TempDir(), "none.yml")}
	_ = os.WriteFile(bad.config, []byte("{}\n"), 0o600)
	if out, err := bad.run("silence", "query"); err == nil || !strings.Contains(err.Error(), "status 401") {
		t.Fatalf("without a token: %v %s", err, out)
	}
}
