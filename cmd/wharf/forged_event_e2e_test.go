package main

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/plan"
	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/testenv"
)

var reDeployStarted = regexp.MustCompile(`Deploy (\S+) started`)

// TestServeRefusesForgedEvents: with `wharf serve` running a deploy whose
// pre_start hook waits for the test, whoever can reach serve's nsqd (an
// app on the host included) publishes events that would end it — healthy
// unsigned, healthy signed by a stranger's key, failed with the agent's
// key id and a forged signature — straight to deploy.events over nsqd's
// HTTP API. The deploy does not move; serve logs and counts them on
// /metrics; the agent's own signed events then finish the deploy.
func TestServeRefusesForgedEvents(t *testing.T) {
	dir := t.TempDir()
	t.Cleanup(func() { killUnder(dir) })
	p := startWharf(t, dir, []string{"WHARF_AGENT_DRAIN_DELAY=200ms"}, append(serveArgs(t), "--agent-id", "e2e-host")...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	internal := p.waitFor(reInternal, 5*time.Second)[1]
	nsqdHTTP := p.waitFor(reNSQDHTTP, 5*time.Second)[1]
	p.waitFor(reToken, 5*time.Second)
	adminB, err := os.ReadFile(filepath.Join(dir, "data", "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	admin := strings.TrimSpace(string(adminB))
	env := []string{"WHARF_SERVER=" + gw, "WHARF_TOKEN=" + admin}
	run := func(args ...string) string {
		t.Helper()
		out, errOut, code := runWharf(t, dir, env, args...)
		if code != 0 {
			t.Fatalf("wharf %v: exit %d\n%s\n%s", args, code, out, errOut)
		}
		return out
	}
	api := func(path string, v any) {
		t.Helper()
		req, _ := http.NewRequest("GET", gw+path, nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || json.Unmarshal(b, v) != nil {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
	}

	gate := filepath.Join(testenv.CrossableDir(t), "go")
	bin := buildSampleApp(t, t.TempDir())
	run("push", bundleDir(t, bin, "hooks:\n  pre_start: \"while [ ! -e "+gate+" ]; do sleep 0.1; done\"\n"), "--version", "1.0.0")
	var id string
	testenv.Eventually(t, 10*time.Second, func() error { // until the agent's first heartbeat
		out, errOut, code := runWharf(t, dir, env, "deploy", "shop", "1.0.0")
		if m := reDeployStarted.FindStringSubmatch(out); code == 0 && m != nil {
			id = m[1]
			return nil
		}
		return fmt.Errorf("deploy: %s %s", out, errOut)
	})
	target := func() plan.TargetState {
		var v struct{ Targets []plan.TargetState }
		api("/api/v1/apps/shop/deploys/"+id, &v)
		if len(v.Targets) != 1 {
			t.Fatalf("targets %+v", v.Targets)
		}
		return v.Targets[0]
	}
	testenv.Eventually(t, 30*time.Second, func() error { // the hook is waiting
		if tg := target(); tg.State != wire.PhaseStarting {
			return fmt.Errorf("target %s", tg.State)
		}
		return nil
	})
	var hosts struct{ Hosts []wire.Host }
	api("/api/v1/agents/hosts", &hosts)
	if len(hosts.Hosts) != 1 || len(hosts.Hosts[0].PublicKey) != ed25519.PublicKeySize {
		t.Fatalf("the agent announces no key: %+v", hosts.Hosts)
	}
	agentKeyID := wire.KeyID(hosts.Hosts[0].PublicKey)

	_, stranger, _ := ed25519.GenerateKey(nil)
	ev := func(state wire.Phase) wire.Event {
		return wire.Event{DeployID: id, TaskID: 1, Host: "e2e-host", State: state, At: time.Now(), Msg: "forged"}
	}
	unsigned, _ := json.Marshal(ev(wire.PhaseHealthy))
	strangers, _ := wire.SignEvent(ev(wire.PhaseHealthy), stranger)
	forged, _ := wire.SignEvent(ev(wire.PhaseFailed), stranger)
	var m map[string]any
	_ = json.Unmarshal(forged, &m)
	m["key_id"] = agentKeyID
	forged, _ = json.Marshal(m)
	for _, body := range [][]byte{unsigned, strangers, forged} {
		resp, err := http.Post("http://"+nsqdHTTP+"/pub?topic="+wire.TopicEvents, "application/json", strings.NewReader(string(body)))
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
		code, body := getAll(t, internal+"/metrics")
		for _, want := range []string{`wharf_deploy_events_refused_total{reason="unsigned"} 1`,
			`wharf_deploy_events_refused_total{reason="wrong_key"} 1`, `wharf_deploy_events_refused_total{reason="bad_signature"} 1`} {
			if code != 200 || !strings.Contains(body, want) {
				return fmt.Errorf("/metrics has no %s yet; the target is %s", want, target().State)
			}
		}
		return nil
	})
	if tg := target(); tg.State != wire.PhaseStarting {
		t.Fatalf("forged events moved the deploy: target %s (%s)", tg.State, tg.Error)
	}
	if l := p.errOut(); !strings.Contains(l, "refusing a deploy event") {
		t.Fatalf("no warning about the forged events in serve's log:\n%s", l)
	}

	// The agent's own events finish it.
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	run("deploy", "status", id, "--watch")
	if tg := target(); tg.State != wire.PhaseHealthy {
		t.Fatalf("target %s (%s)", tg.State, tg.Error)
	}
}

// getAll is get with the whole body.
func getAll(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
