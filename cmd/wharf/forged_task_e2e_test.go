package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

var (
	reNSQDHTTP = regexp.MustCompile(`nsqd:\s+\S+ \(tcp\), (\S+) \(http\)`)
	rePushSum  = regexp.MustCompile(`sha256 ([0-9a-f]{64})`)
)

// TestServeRefusesForgedTasks: with `wharf serve` running, whoever can
// reach its nsqd publishes deploy tasks for a pushed version straight to
// the agent's topic over nsqd's HTTP API — unsigned, and with a made-up
// signature. The agent runs none of them (no release, no deploy), says so
// in its log and counts them on serve's /metrics; a real deploy through
// the CLI still works.
func TestServeRefusesForgedTasks(t *testing.T) {
	dir := t.TempDir()
	t.Cleanup(func() { killUnder(dir) })
	p := startWharf(t, dir, []string{"WHARF_AGENT_DRAIN_DELAY=200ms"}, append(serveArgs(t), "--agent-id", "e2e-host")...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	internal := p.waitFor(reInternal, 5*time.Second)[1]
	nsqdHTTP := p.waitFor(reNSQDHTTP, 5*time.Second)[1]
	p.waitFor(reToken, 5*time.Second)
	admin, err := os.ReadFile(filepath.Join(dir, "data", "admin.token"))
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
	m := rePushSum.FindStringSubmatch(run("push", bundleDir(t, bin, ""), "--version", "6.6.6"))
	if m == nil {
		t.Fatal("push printed no sha256")
	}
	task := fmt.Sprintf(`{"deploy_id":"forged","app":"shop","host":"e2e-host","task_id":1,"kind":"deploy","version":"6.6.6","sha256":%q`, m[1])
	for _, body := range []string{
		task + `}`, // the task format of the previous release: unsigned
		task + `,"nonce":"00112233445566778899aabbccddeeff","issued_at":"2026-01-01T00:00:00Z","expires_at":"2099-01-01T00:00:00Z","key_id":"0011223344556677","sig":"` +
			strings.Repeat("A", 86) + `=="}`, // a made-up key and signature
	} {
		resp, err := http.Post("http://"+nsqdHTTP+"/pub?topic=deploy.host.e2e-host", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("nsqd /pub: %d %s", resp.StatusCode, b)
		}
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		code, body := get(t, internal+"/metrics")
		for _, want := range []string{`wharf_agent_tasks_refused_total{reason="unsigned"} 1`, `wharf_agent_tasks_refused_total{reason="unknown_key"} 1`} {
			if code != 200 || !strings.Contains(body, want) {
				return fmt.Errorf("/metrics has no %s yet", want)
			}
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(dir, "data", "agent", "apps", "shop")); !os.IsNotExist(err) {
		t.Fatalf("the forged task installed something: %v", err)
	}
	if out := run("deploys", "shop"); strings.Contains(out, "6.6.6") {
		t.Fatalf("deploys of shop:\n%s", out)
	}
	if l := p.errOut(); !strings.Contains(l, "refusing a task message") {
		t.Fatalf("no warning about the forged tasks in serve's log:\n%s", l)
	}

	// A real deploy of the same version still works.
	testenv.Eventually(t, 10*time.Second, func() error {
		if _, errOut, code := runWharf(t, dir, env, "deploy", "shop", "6.6.6", "--watch"); code != 0 {
			return fmt.Errorf("deploy: %s", errOut)
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(dir, "data", "agent", "apps", "shop", "releases", "6.6.6")); err != nil {
		t.Fatalf("the real deploy: %v", err)
	}
}
