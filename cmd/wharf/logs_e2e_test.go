package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

// TestServeLogsAndDeployDiagnostics is issue 12's deploy-facing part on
// `wharf serve` and its real local agent: `wharf logs` shows what the
// app's instances print (stream, host, instance, process), --follow sees
// a new line, filters and bad parameters behave, only admin and the
// owning team read them and only the agent of a host the app runs on
// ships them; a canary the one host cannot honour warns (and --strict
// refuses it); a failed deploy's status shows the failing process's log.
func TestServeLogsAndDeployDiagnostics(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "wharf.yaml")
	if err := os.WriteFile(cfg, []byte("services:\n  - name: shop\nroutes:\n  - {name: shop, path: /shop, service: shop}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { killUnder(dir) })
	p := startWharf(t, dir, []string{"WHARF_AGENT_DRAIN_DELAY=200ms"}, append(serveArgs(t), "--config", cfg)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	admin := p.waitFor(reToken, 5*time.Second)[1]
	tokens := map[string]string{"admin": admin}
	for name, scope := range map[string]string{"shop": "team:shop", "evil": "team:evil", "rogue": "agent", "ingest": "ingest"} {
		out, errOut, code := runWharf(t, dir, []string{"WHARF_SERVER=" + gw, "WHARF_TOKEN=" + admin},
			"token", "create", "--name", name, "--scope", scope, "-o", "json")
		m := regexp.MustCompile(`"token": "(wharf_\w+)"`).FindStringSubmatch(out)
		if code != 0 || m == nil {
			t.Fatalf("token %s: %d %s %s", name, code, out, errOut)
		}
		tokens[name] = m[1]
	}
	as := func(who string) []string { return []string{"WHARF_SERVER=" + gw, "WHARF_TOKEN=" + tokens[who]} }
	run := func(who string, args ...string) (string, string) {
		t.Helper()
		out, errOut, code := runWharf(t, dir, as(who), args...)
		if code != 0 {
			t.Fatalf("wharf %v as %s: exit %d\n%s\n%s", args, who, code, out, errOut)
		}
		return out, errOut
	}
	fails := func(who string, args ...string) string {
		t.Helper()
		out, errOut, code := runWharf(t, dir, as(who), args...)
		if code == 0 {
			t.Fatalf("wharf %v as %s succeeded:\n%s", args, who, out)
		}
		return errOut
	}
	bin := buildSampleApp(t, t.TempDir())
	run("shop", "push", bundleDir(t, bin, ""), "--version", "1.0.0")
	run("shop", "push", bundleDir(t, bin, "env:\n  CRASH: \"1\"\n"), "--version", "2.0.0")
	c := &deployCluster{t: t, gw: gw, dir: dir, env: as("shop")}

	// The local agent reports in; a canary of 3 steps on its one host is
	// refused with --strict (400 naming strategy.steps) ...
	testenv.Eventually(t, 10*time.Second, func() error {
		r := call(t, "GET", gw+"/api/v1/agents/hosts", admin, nil)
		if r.status != 200 || !strings.Contains(r.raw, `"id"`) {
			return fmt.Errorf("hosts: %d %s", r.status, r.raw)
		}
		return nil
	})
	errOut := fails("shop", "deploy", "shop", "1.0.0", "--steps", "10,50,100", "--strict")
	if !strings.Contains(errOut, "400") || !strings.Contains(errOut, "strategy.steps") || !strings.Contains(errOut, "strict") {
		t.Fatalf("strict canary on one host: %s", errOut)
	}
	// ... and without it starts with a warning on stderr.
	out, errOut := run("shop", "deploy", "shop", "1.0.0", "--steps", "10,50,100", "--watch")
	if !strings.Contains(errOut, "warning: strategy.steps: 3 canary steps") || !strings.Contains(out, "succeeded") {
		t.Fatalf("canary on one host:\nstdout %s\nstderr %s", out, errOut)
	}

	// What the instances print at start reaches `wharf logs`.
	var instances []string
	testenv.Eventually(t, 10*time.Second, func() error {
		out, _ := run("shop", "logs", "shop")
		m := regexp.MustCompile(`(?m)^\S+ (\S+)/(\S+) web stdout\| listening on \d+ as (\S+)$`).FindAllStringSubmatch(out, -1)
		if len(m) < 2 {
			return fmt.Errorf("logs:\n%s", out)
		}
		instances = nil
		for _, l := range m {
			if l[2] != l[3] {
				t.Fatalf("the line's instance %q is not the one that printed it (%q)", l[2], l[3])
			}
			instances = append(instances, l[2])
		}
		return nil
	})
	say := func(line, stream string) string {
		t.Helper()
		code, body := get(t, gw+"/shop/say?"+url.Values{"line": {line}, "stream": {stream}}.Encode())
		if code != 200 {
			t.Fatalf("say: %d %s", code, body)
		}
		return body
	}
	inst := say("to-stderr", "stderr")
	testenv.Eventually(t, 10*time.Second, func() error {
		if out, _ := run("shop", "logs", "shop", "--instance", inst, "--since", "1m"); !strings.Contains(out, "/"+inst+" web stderr| to-stderr") {
			return fmt.Errorf("logs of %s:\n%s", inst, out)
		}
		return nil
	})
	// Filters: another instance, an unknown host, --tail; -o json keeps every field.
	for _, other := range instances {
		if other == inst {
			continue
		}
		if out, _ := run("shop", "logs", "shop", "--instance", other); strings.Contains(out, "to-stderr") || !strings.Contains(out, "listening") {
			t.Fatalf("logs of %s:\n%s", other, out)
		}
	}
	if out, errOut := run("shop", "logs", "shop", "--host", "nowhere"); out != "" || !strings.Contains(errOut, "No log lines of shop match.") {
		t.Fatalf("logs of an unknown host:\n%s%s", out, errOut)
	}
	if out, _ := run("shop", "logs", "shop", "--tail", "1"); len(readLines(out)) != 1 || !strings.Contains(out, "to-stderr") {
		t.Fatalf("--tail 1:\n%s", out)
	}
	out, _ = run("shop", "logs", "shop", "--tail", "1", "-o", "json")
	var line struct{ Seq, At, Host, Instance, Process, Stream, Line any }
	if err := json.Unmarshal([]byte(out), &line); err != nil || line.Host == "" || line.Instance != inst || line.Process != "web" || line.Stream != "stderr" || line.Line != "to-stderr" || line.At == nil {
		t.Fatalf("-o json: %v %s", err, out)
	}

	// --follow prints the lines that come after it started.
	f := startWharf(t, dir, as("shop"), "logs", "shop", "--follow", "--tail", "1")
	f.waitFor(regexp.MustCompile(`to-stderr`), 10*time.Second)
	say("fresh-line-1", "stdout")
	f.waitFor(regexp.MustCompile(`(?m)web stdout\| fresh-line-1$`), 10*time.Second)
	if code := f.stop(5 * time.Second); code != 0 && code != -1 {
		t.Fatalf("logs --follow exit %d: %s", code, f.errOut())
	}

	// Bad parameters: 400 naming the field, through the CLI and the API.
	for _, args := range [][]string{{"--since", "yesterday"}, {"--host", "a/b"}} {
		if errOut := fails("shop", append([]string{"logs", "shop"}, args...)...); !strings.Contains(errOut, "400") || !strings.Contains(errOut, strings.TrimPrefix(args[0], "--")) {
			t.Fatalf("logs %v: %s", args, errOut)
		}
	}
	if errOut := fails("shop", "logs", "shop", "--tail", "0"); !strings.Contains(errOut, "--tail") {
		t.Fatalf("--tail 0: %s", errOut)
	}
	for q, field := range map[string]string{"limit=0": "limit", "limit=abc": "limit", "after=-1": "after", "since=-5m": "since", "instance=a%2Fb": "instance"} {
		r := call(t, "GET", gw+"/api/v1/apps/shop/logs?"+q, tokens["shop"], nil)
		if r.status != 400 || !strings.HasPrefix(fmt.Sprint(r.body["error"]), field+":") {
			t.Fatalf("?%s: %d %s", q, r.status, r.raw)
		}
	}

	// Reading: admin and the owning team; another team 404 like a missing
	// app; agent and ingest tokens 403; no token 401.
	for who, want := range map[string]int{"admin": 200, "shop": 200, "evil": 404, "rogue": 403, "ingest": 403, "": 401} {
		tok := tokens[who]
		r := call(t, "GET", gw+"/api/v1/apps/shop/logs", tok, nil)
		if r.status != want || want == 200 && !strings.Contains(r.raw, "to-stderr") || want != 200 && strings.Contains(r.raw, "to-stderr") {
			t.Fatalf("logs as %q: %d %s", who, r.status, r.raw)
		}
	}
	if errOut := fails("evil", "logs", "shop"); !strings.Contains(errOut, "404") {
		t.Fatalf("another team's logs: %s", errOut)
	}

	// Shipping: only the agent token its host is bound to, and only for
	// apps deployed to that host; bad lines are 400 naming the field.
	r := call(t, "GET", gw+"/api/v1/agents/hosts", admin, nil)
	host := regexp.MustCompile(`"id":\s*"([^"]+)"`).FindStringSubmatch(r.raw)[1]
	line1 := map[string]any{"app": "shop", "at": time.Now().UTC(), "instance": "forged", "process": "web", "stream": "stdout", "line": "forged line"}
	batch := map[string]any{"lines": []any{line1}}
	for who, want := range map[string]int{"": 401, "shop": 403, "evil": 403, "ingest": 403, "rogue": 403} {
		if r := call(t, "POST", gw+"/api/v1/agents/hosts/"+host+"/logs", tokens[who], batch); r.status != want {
			t.Fatalf("ship to %s as %q: %d %s", host, who, r.status, r.raw)
		}
	}
	// The rogue agent binds a host of its own: shop was never deployed there.
	hb := map[string]any{"id": "rogue-host", "room": "default", "advertise": "127.0.0.1"}
	if r := call(t, "PUT", gw+"/api/v1/agents/hosts/rogue-host", tokens["rogue"], hb); r.status != 200 {
		t.Fatalf("rogue heartbeat: %d %s", r.status, r.raw)
	}
	if r := call(t, "POST", gw+"/api/v1/agents/hosts/rogue-host/logs", tokens["rogue"], batch); r.status != 403 || !strings.Contains(r.raw, "never deployed") {
		t.Fatalf("rogue ships shop's logs: %d %s", r.status, r.raw)
	}
	bad := map[string]any{"app": "shop", "at": time.Now().UTC(), "instance": "x", "process": "web", "stream": "stdin", "line": "x"}
	if r := call(t, "POST", gw+"/api/v1/agents/hosts/rogue-host/logs", tokens["rogue"], map[string]any{"lines": []any{bad}}); r.status != 400 || !strings.Contains(r.raw, "lines[0].stream") {
		t.Fatalf("bad line: %d %s", r.status, r.raw)
	}
	if r := call(t, "GET", gw+"/api/v1/apps/shop/logs", admin, nil); strings.Contains(r.raw, "forged line") {
		t.Fatalf("a refused batch was stored: %s", r.raw)
	}
	// A batch of more lines than allowed is refused before it is decoded.
	empties := make([]any, 600)
	for i := range empties {
		empties[i] = map[string]any{}
	}
	if r := call(t, "POST", gw+"/api/v1/agents/hosts/rogue-host/logs", tokens["rogue"], map[string]any{"lines": empties}); r.status != 400 || !strings.Contains(r.raw, "lines: at most 500") {
		t.Fatalf("600 lines: %d %s", r.status, r.raw)
	}
	// The built-in route under /api/v1/apps/ allows 8 GiB for pushes; a
	// route that buffers its body still stops at 16 MiB.
	if r := call(t, "GET", gw+"/api/v1/apps/shop/logs", tokens["ingest"], strings.Repeat("x", 17<<20)); r.status != 413 {
		t.Fatalf("a 17 MiB body on GET logs: %d %.200s", r.status, r.raw)
	}

	// A version that crashes at start: the deploy fails and rolls back,
	// and its status table shows the process's own words.
	v := c.deployJSON("deploy", "shop", "2.0.0")
	v = c.waitDeploy(v.ID, 60*time.Second)
	if v.State != "rolled_back" {
		t.Fatalf("crashing deploy: %s %s", v.State, v.Summary.Error)
	}
	out, _ = run("shop", "deploy", "status", v.ID)
	t.Logf("wharf deploy status %s:\n%s", v.ID, out)
	if !strings.Contains(out, "log tail of task 1 (failed)") || !strings.Contains(out, "| cannot open database: crashing on purpose") {
		t.Fatalf("status of the failed deploy:\n%s", out)
	}
	// ... and `wharf logs` has the crash too, on stderr.
	testenv.Eventually(t, 10*time.Second, func() error {
		if out, _ := run("shop", "logs", "shop", "--process", "web"); !strings.Contains(out, "web stderr| cannot open database: crashing on purpose") {
			return fmt.Errorf("logs:\n%s", out)
		}
		return nil
	})
	if code := p.stop(20 * time.Second); code != 0 {
		t.Fatalf("serve exit %d", code)
	}
}
