package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

var (
	reGateway  = regexp.MustCompile(`gateway:\s+(http://\S+)`)
	reInternal = regexp.MustCompile(`internal:\s+(http://\S+)`)
	reToken    = regexp.MustCompile(`\n  (wharf_[0-9a-f]{16}_[0-9a-f]{64})\n`)
)

// serveArgs runs serve on random loopback ports so tests never collide.
func serveArgs(t *testing.T) []string {
	return []string{"serve",
		"--gateway-listen", "127.0.0.1:0", "--internal-listen", "127.0.0.1:0",
		"--nsq-embedded-tcp", "127.0.0.1:0", "--nsq-embedded-http", "127.0.0.1:0",
		"--shutdown-grace", "5s"}
}

func TestServeFirstStartTokenWhoamiAndRestart(t *testing.T) {
	dir := t.TempDir()
	p := startWharf(t, dir, nil, serveArgs(t)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	internal := p.waitFor(reInternal, 5*time.Second)[1]
	tok := p.waitFor(reToken, 5*time.Second)[1]

	// The token file holds the same token, mode 0600.
	st, err := os.Stat(filepath.Join(dir, "data", "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("admin.token mode %v, want 0600", st.Mode().Perm())
	}
	b, _ := os.ReadFile(filepath.Join(dir, "data", "admin.token"))
	if strings.TrimSpace(string(b)) != tok {
		t.Fatal("token file differs from the printed token")
	}
	// Only the hash is stored.
	db, _ := os.ReadFile(filepath.Join(dir, "data", "store.db"))
	if strings.Contains(string(db), tok) || strings.Contains(string(db), tok[23:]) {
		t.Fatal("plaintext token found in the store file")
	}

	r := call(t, "GET", gw+"/api/v1/whoami", tok, nil)
	if r.status != 200 || r.body["name"] != "admin" {
		t.Fatalf("whoami: %d %s", r.status, r.raw)
	}
	r = call(t, "GET", gw+"/api/v1/whoami", "", nil)
	if r.status != 401 || r.body["error"] == nil || r.body["request_id"] == nil {
		t.Fatalf("whoami without token: %d %s", r.status, r.raw)
	}
	if r.header.Get("X-Request-Id") != r.body["request_id"] {
		t.Fatalf("request id header %q vs body %v", r.header.Get("X-Request-Id"), r.body["request_id"])
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if r := call(t, "GET", internal+"/ready", "", nil); r.status != 200 {
			return errString(r.raw)
		}
		return nil
	})
	for _, path := range []string{"/health", "/metrics", "/debug/pprof/"} {
		if r := call(t, "GET", internal+path, "", nil); r.status != 200 {
			t.Fatalf("%s: %d", path, r.status)
		}
	}
	if m := call(t, "GET", internal+"/metrics", "", nil); !strings.Contains(m.raw, `wharf_gateway_requests_total{code="4xx"}`) {
		t.Fatalf("gateway metrics missing: %.500s", m.raw)
	}
	if code := p.stop(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM\n%s", code, p.errOut())
	}
	if !strings.Contains(p.errOut(), "stopped") {
		t.Fatalf("no shutdown log: %s", p.errOut())
	}

	// Second start: same store, token not printed again, still valid.
	p2 := startWharf(t, dir, nil, serveArgs(t)...)
	gw2 := p2.waitFor(reGateway, 30*time.Second)[1]
	p2.waitFor(regexp.MustCompile(`admin token: in`), 5*time.Second)
	if reToken.MatchString(p2.out()) {
		t.Fatal("token printed again on the second start")
	}
	if r := call(t, "GET", gw2+"/api/v1/whoami", tok, nil); r.status != 200 {
		t.Fatalf("old token after restart: %d %s", r.status, r.raw)
	}
	if code := p2.stop(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestServeCLITokens(t *testing.T) {
	dir := t.TempDir()
	p := startWharf(t, dir, nil, serveArgs(t)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	p.waitFor(reToken, 5*time.Second)
	env := []string{"WHARF_SERVER=" + gw}

	// The CLI finds data/admin.token by itself.
	out, errOut, code := runWharf(t, dir, env, "whoami")
	if code != 0 || !strings.Contains(out, "admin") {
		t.Fatalf("whoami: %d %s %s", code, out, errOut)
	}
	out, errOut, code = runWharf(t, dir, env, "token", "create", "--team", "shop", "-o", "json")
	if code != 0 {
		t.Fatalf("token create: %d %s %s", code, out, errOut)
	}
	m := regexp.MustCompile(`"token": "(wharf_\w+)"`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no token in %s", out)
	}
	team := m[1]
	out, _, code = runWharf(t, dir, append(env, "WHARF_TOKEN="+team), "whoami")
	if code != 0 || !strings.Contains(out, "team:shop") {
		t.Fatalf("team whoami: %d %s", code, out)
	}
	// A team token is not admin: 403 with the message, non-zero exit.
	_, errOut, code = runWharf(t, dir, append(env, "WHARF_TOKEN="+team), "token", "list")
	if code == 0 || !strings.Contains(errOut, "HTTP 403") {
		t.Fatalf("team token list: %d %s", code, errOut)
	}
	out, _, code = runWharf(t, dir, env, "token", "list")
	lines := readLines(out)
	// admin, shop and the local agent's token, under a header.
	if code != 0 || len(lines) != 4 || !strings.Contains(out, "team:shop") || !strings.Contains(out, "local-agent") || strings.Contains(out, team) {
		t.Fatalf("token list: %d\n%s", code, out)
	}
	id := regexp.MustCompile(`wharf_([0-9a-f]{16})_`).FindStringSubmatch(team)[1]
	if _, errOut, code = runWharf(t, dir, env, "token", "revoke", id); code != 0 {
		t.Fatalf("revoke: %s", errOut)
	}
	_, errOut, code = runWharf(t, dir, append(env, "WHARF_TOKEN="+team), "whoami")
	if code == 0 || !strings.Contains(errOut, "HTTP 401") {
		t.Fatalf("revoked token: %d %s", code, errOut)
	}
	_, errOut, code = runWharf(t, dir, env, "token", "create", "--name", "x", "--scope", "root")
	if code == 0 || !strings.Contains(errOut, `unknown scope "root"`) {
		t.Fatalf("bad scope: %d %s", code, errOut)
	}
	_, errOut, code = runWharf(t, dir, env, "token", "create", "--scope", "ingest")
	if code == 0 || !strings.Contains(errOut, "name is required") {
		t.Fatalf("no name: %d %s", code, errOut)
	}
	_, errOut, code = runWharf(t, dir, []string{"WHARF_SERVER=http://127.0.0.1:1"}, "whoami")
	if code == 0 || !strings.Contains(errOut, "cannot reach") {
		t.Fatalf("dead server: %d %s", code, errOut)
	}
	p.stop(10 * time.Second)
}

func TestServeConfigErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "wharf.yaml")
	if err := os.WriteFile(cfg, []byte("gateway:\n  listen: \":0\"\n  listn: \":1\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runWharf(t, dir, nil, "serve", "--config", cfg)
	if code == 0 || !strings.Contains(errOut, `line 3: unknown key "gateway.listn"`) {
		t.Fatalf("unknown key: %d %s", code, errOut)
	}
	_, errOut, code = runWharf(t, dir, []string{"WHARF_SHUTDOWN_GRACE=soon"}, "serve")
	if code == 0 || !strings.Contains(errOut, "WHARF_SHUTDOWN_GRACE") {
		t.Fatalf("bad env: %d %s", code, errOut)
	}
	out, _, code := runWharf(t, dir, nil, "serve", "--help")
	for _, want := range []string{"--data-dir", `(default "./data")`, "--gateway-listen", `(default ":8080")`, "--internal-listen", "--shutdown-grace", "(default 10s)", "WHARF_LOG_FORMAT"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("serve --help lacks %q:\n%s", want, out)
		}
	}
}

func TestServePortInUseFailsClearly(t *testing.T) {
	dir := t.TempDir()
	p := startWharf(t, dir, nil, serveArgs(t)...)
	internal := p.waitFor(reInternal, 30*time.Second)[1]
	args := serveArgs(t)
	for i, a := range args {
		if a == "--internal-listen" {
			args[i+1] = strings.TrimPrefix(internal, "http://")
		}
	}
	_, errOut, code := runWharf(t, t.TempDir(), nil, args...)
	if code == 0 || !strings.Contains(errOut, "cannot start internal listener: cannot listen on internal address") {
		t.Fatalf("port in use: %d %s", code, errOut)
	}
	// The gateway's port taken: the components started before it are
	// undone and the error names the gateway.
	gw := strings.TrimPrefix(p.waitFor(reGateway, 5*time.Second)[1], "http://")
	args = append(serveArgs(t), "--gateway-listen", gw)
	_, errOut, code = runWharf(t, t.TempDir(), nil, args...)
	if code == 0 || !strings.Contains(errOut, "cannot start gateway: ") {
		t.Fatalf("gateway port in use: %d %s", code, errOut)
	}
	p.stop(10 * time.Second)
}

// TestServeShutdownStepsInOrder: on SIGTERM serve logs each stop step, in
// the reverse order of the component table.
func TestServeShutdownStepsInOrder(t *testing.T) {
	p := startWharf(t, t.TempDir(), nil, serveArgs(t)...)
	p.waitFor(reGateway, 30*time.Second)
	if code := p.stop(30 * time.Second); code != 0 {
		t.Fatalf("exit %d: %s", code, p.errOut())
	}
	re := regexp.MustCompile(`msg="shutdown step (done|failed)" role=serve step=(?:"([a-z ]+)"|([a-z]+)) `)
	var steps []string
	for _, line := range readLines(p.errOut()) {
		if m := re.FindStringSubmatch(line); m != nil {
			if m[1] != "done" {
				t.Errorf("step failed: %s", line)
			}
			steps = append(steps, m[2]+m[3])
		}
	}
	want := []string{"readiness", "node heartbeat", "agent", "gateway", "notify", "judge", "config", "ab", "monitor", "deploy", "artifacts", "functions", "artifact store", "outbox", "nsqd producer", "embedded nsqd", "store", "internal listener"}
	if strings.Join(steps, ",") != strings.Join(want, ",") {
		t.Fatalf("shutdown steps\n got %q\nwant %q\nstderr:\n%s", steps, want, p.errOut())
	}
}
