package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/plan"
	"github.com/wharfhq/wharf/internal/cliout"
	"github.com/wharfhq/wharf/internal/testenv"
)

// writeAppDir writes a pushable app directory (no process to run).
func writeAppDir(t *testing.T, dir, app string) string {
	t.Helper()
	d := filepath.Join(dir, app)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"wharf.yaml": "app: " + app + "\nprocesses:\n  web: ./server --port $PORT\n",
		"server":     "#!/bin/sh\n",
	} {
		if err := os.WriteFile(filepath.Join(d, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// reAgo is a human time: "just now", "12s ago", "3m ago".
var reAgo = regexp.MustCompile(`just now|\b\d+[smhd] ago`)

// wantAgo fails unless out shows a human time.
func wantAgo(t *testing.T, what, out string) {
	t.Helper()
	if !reAgo.MatchString(out) {
		t.Errorf("%s: no human time (\"3m ago\") in:\n%s", what, out)
	}
}

// TestEveryCommandAgainstServe runs the commands no other e2e test runs,
// each at least once on its happy path, against one real `wharf serve`,
// and checks what a person sees: tables with human times, key-value
// views for shows, JSON with -o json, and JSON errors on stderr.
func TestEveryCommandAgainstServe(t *testing.T) {
	dir := t.TempDir()
	p := startWharf(t, dir, nil, serveArgs(t)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	p.waitFor(reToken, 5*time.Second)
	c := cli{t: t, dir: dir, env: []string{"WHARF_SERVER=" + gw}}

	// version: the client's and the server's.
	wantLines(t, "version", c.ok("version"), "Client:", "dev", "Server:", gw)
	var v versionView
	if err := json.Unmarshal([]byte(c.ok("version", "-o", "json")), &v); err != nil || v.Server.Version != "dev" || v.Client.Version == "" {
		t.Fatalf("version -o json: %+v %v", v, err)
	}
	// Unreachable server: the client's version, the reason, exit 0.
	wantLines(t, "version offline", c.ok("version", "--server", "http://127.0.0.1:1", "--token", "x"), "Client:", "cannot reach http://127.0.0.1:1")

	// push -o json, then apps list and status show the app.
	writeAppDir(t, dir, "shop")
	var pushed struct {
		App, Version, SHA256 string
		Files                int
	}
	if err := json.Unmarshal([]byte(c.ok("push", "./shop", "--version", "1.0.0", "-o", "json")), &pushed); err != nil ||
		pushed.App != "shop" || pushed.Version != "1.0.0" || len(pushed.SHA256) != 64 || pushed.Files != 2 {
		t.Fatalf("push -o json: %+v %v", pushed, err)
	}
	out := c.ok("apps", "list")
	wantLines(t, "apps list", out, "APP", "TEAM", "LIVE", "LATEST", "PUSHED", "shop", "1.0.0")
	wantAgo(t, "apps list", out)
	var apps []struct{ App, Latest string }
	if err := json.Unmarshal([]byte(c.ok("apps", "list", "-o", "json")), &apps); err != nil || len(apps) != 1 || apps[0].Latest != "1.0.0" {
		t.Fatalf("apps list -o json: %+v %v", apps, err)
	}
	// A node starts announcing itself while a check may still be loading
	// (config's namespaces); the heartbeat writes the change within its
	// probe, so status shows it ready a moment after start.
	testenv.Eventually(t, 30*time.Second, func() error {
		var st statusView
		if err := json.Unmarshal([]byte(c.ok("status", "-o", "json")), &st); err != nil || len(st.Nodes) != 1 || !st.Nodes[0].Ready {
			return fmt.Errorf("status -o json nodes: %+v %v", st.Nodes, err)
		}
		return nil
	})
	out = c.ok("status")
	host, _ := os.Hostname()
	wantLines(t, "status", out, "Server:", "version dev, API ready", "Gateway:", "edge config version 1 applied",
		"Nodes:", "NODE", "ROLES", "VERSION", "READY", "GATEWAY", "UP", "LAST SEEN", host+"@127.0.0.1:", "gateway,functions,judge,agent", gw,
		"Hosts:", "HOST", "local", "Apps:", "shop", "Running deploys:", "None.")
	if !regexp.MustCompile(`(?m)^  \S+@127\.0\.0\.1:\d+\s+gateway,functions,judge,agent\s+dev\s+yes\s+http://`).MatchString(out) {
		t.Errorf("status: the serve node is not one ready row:\n%s", out)
	}
	// A team sees its apps, not the nodes, the hosts nor the gateway node.
	team := c.with("WHARF_TOKEN=" + createToken(t, c, "--team", "shop"))
	out = team.ok("status")
	wantLines(t, "status as a team", out, "Token:", "team:shop", "only admins see the nodes", "only admins see the hosts", "shop")
	if strings.Contains(out, "Gateway:") || strings.Contains(out, host+"@") {
		t.Errorf("a team token sees the gateway node:\n%s", out)
	}
	var st statusView
	if err := json.Unmarshal([]byte(c.ok("status", "-o", "json")), &st); err != nil || len(st.Apps) != 1 || len(st.Hosts) != 1 || st.Version != "dev" {
		t.Fatalf("status -o json: %+v %v", st, err)
	}
	if len(st.Nodes) != 1 || st.Nodes[0].Command != "serve" || !st.Nodes[0].Ready || st.Nodes[0].Gateway != gw || st.Nodes[0].Seen.IsZero() ||
		!slices.Equal(st.Nodes[0].Roles, []string{"gateway", "functions", "judge", "agent"}) {
		t.Fatalf("status -o json nodes: %+v", st.Nodes)
	}

	// Lists are tables with the columns people want and no zero times.
	out = c.ok("artifacts", "list", "shop")
	wantLines(t, "artifacts list", out, "VERSION", "SIZE", "SHA256", "PUSHED", "1.0.0")
	wantAgo(t, "artifacts list", out)
	out = c.ok("token", "list")
	wantLines(t, "token list", out, "ID", "NAME", "SCOPES", "CREATED", "admin")
	wantAgo(t, "token list", out)
	out = c.ok("artifacts", "show", "shop", "1.0.0")
	wantLines(t, "artifacts show", out, "app:", "shop", "sha256:", "manifest.app:", "created_at:")
	wantAgo(t, "artifacts show", out)
	for what, o := range map[string]string{"artifacts list": c.ok("artifacts", "list", "shop"), "token list": c.ok("token", "list"), "artifacts show": out} {
		if strings.Contains(o, "0001-01-01") || strings.Contains(o, "{") {
			t.Errorf("%s shows a zero time or raw JSON:\n%s", what, o)
		}
	}

	// Routes: the built-in ones are listed and marked; shows are key-value views.
	out = c.ok("route", "list")
	wantLines(t, "route list", out, "NAME", "HOST", "PATH", "TARGET", "BUILTIN", "wharf-api", "/api/", "function api", "yes")
	wantLines(t, "route show built-in", c.ok("route", "show", "wharf-api"), "name:", "wharf-api", "builtin:", "true")

	// Services, limits: put, list, show, delete.
	svc := filepath.Join(dir, "svc.yaml")
	lim := filepath.Join(dir, "lim.yaml")
	route := filepath.Join(dir, "route.yaml")
	for f, body := range map[string]string{
		svc:   "instances: [{addr: \"127.0.0.1:1\", room: bj}, {addr: \"127.0.0.1:2\", room: sh}]\n",
		lim:   "key: ip\nrate: 10r/s\nburst: 20\nnodelay: true\n",
		route: "host: cart.example.com\npath: /\nservice: cart\nlimits: [per_ip]\n",
	} {
		if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c.ok("service", "put", "cart", "-f", svc)
	// Rooms of the service: a policy, a staged switch, aborted.
	rooms := filepath.Join(dir, "rooms.yaml")
	if err := os.WriteFile(rooms, []byte("weights: {bj: 100, sh: 0}\npriority: [bj, sh]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantLines(t, "room policy", c.ok("room", "policy", "cart", "-f", rooms), "Room policy of cart saved", "bj=100 sh=0")
	c.ok("room", "weights", "cart", "bj=50", "sh=50", "--steps", "50,100", "--interval", "10m", "--why", "try sh")
	c.ok("room", "abort", "cart", "--why", "wrong weights")
	wantLines(t, "room history", c.ok("room", "history", "cart"), "bj=100 sh=0", "bj=50 sh=50", "aborted", "try sh")
	c.ok("limit", "put", "per_ip", "-f", lim)
	c.ok("route", "put", "cart", "-f", route)
	wantLines(t, "service list", c.ok("service", "list"), "NAME", "INSTANCES", "ROOMS", "cart", "127.0.0.1:1,127.0.0.1:2", "bj,sh")
	wantLines(t, "service show", c.ok("service", "show", "cart"), "instances[0].addr:", "127.0.0.1:1", "instances[1].room:", "sh")
	wantLines(t, "limit list", c.ok("limit", "list"), "NAME", "KEY", "RATE", "BURST", "per_ip", "ip", "10r/s", "20", "nodelay")
	wantLines(t, "limit show", c.ok("limit", "show", "per_ip"), "rate:", "10r/s", "burst:", "20")
	wantLines(t, "route list with one", c.ok("route", "list"), "cart", "cart.example.com", "service cart", "per_ip", "wharf-fn")
	out = c.ok("edge", "show")
	wantLines(t, "edge show", out, "Version:", "Changed:", "by admin (put route cart)", "Routes:", "cart", "wharf-api", "Services:", "Limits:", "per_ip")
	wantAgo(t, "edge show", out)
	wantLines(t, "edge stats", c.ok("edge", "stats"), "config_version:", "requests.2xx:")
	out = c.ok("edge", "history")
	wantLines(t, "edge history", out, "VERSION", "WHEN", "admin", "put route cart")
	wantAgo(t, "edge history", out)
	c.ok("route", "delete", "cart")
	c.ok("limit", "delete", "per_ip")
	c.ok("service", "delete", "cart", "-o", "json")
	wantLines(t, "empty limits", c.ok("limit", "list"), "No limits.")

	// ACL lists: add, show, remove (TEST-NET addresses, nobody locked out).
	c.ok("acl", "deny", "add", "192.0.2.7")
	wantLines(t, "deny show", c.ok("acl", "deny", "show"), "DENY", "192.0.2.7")
	c.ok("acl", "deny", "remove", "192.0.2.7")
	c.ok("acl", "allow", "add", "127.0.0.0/8")
	wantLines(t, "allow show", c.ok("acl", "allow", "show"), "ALLOW", "127.0.0.0/8")
	c.ok("acl", "allow", "remove", "127.0.0.0/8")
	wantLines(t, "empty allow", c.ok("acl", "allow", "show"), "The allow list is empty")
	wantLines(t, "bans", c.ok("acl", "bans"), "No active bans.")

	// Errors: one line without -o json; a JSON object on stderr with it.
	_, errOut, code := runWharf(t, dir, c.env, "route", "show", "nope")
	if code != 1 || !strings.HasPrefix(errOut, "wharf: route \"nope\" not found (HTTP 404") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("route show nope: %d %q", code, errOut)
	}
	stdout, errOut, code := runWharf(t, dir, c.env, "route", "show", "nope", "-o", "json")
	var eb cliout.ErrorBody
	if code != 1 || stdout != "" || json.Unmarshal([]byte(errOut), &eb) != nil || eb.Status != 404 || eb.Error != `route "nope" not found` || eb.RequestID == "" || eb.ExitCode != 1 {
		t.Fatalf("route show nope -o json: %d %q %q %+v", code, stdout, errOut, eb)
	}
	// Local errors too, without a status.
	_, errOut, _ = runWharf(t, dir, c.env, "deploy", "status", "not-an-id", "-o", "json")
	eb = cliout.ErrorBody{}
	if json.Unmarshal([]byte(errOut), &eb) != nil || !strings.Contains(eb.Error, "is not a deploy id") || eb.Status != 0 {
		t.Fatalf("local error -o json: %q", errOut)
	}
	c.fails("--output must be table or json", "apps", "list", "-o", "yaml")
	c.fails("--output must be table or json", "context", "list", "-o", "yaml")

	// A deploy in progress is paused, resumed and aborted: its app never
	// listens, so the step runs until the agent's health timeout (60 s).
	t.Cleanup(func() { killUnder(dir) })
	slow := writeAppDir(t, dir, "slow")
	if err := os.WriteFile(filepath.Join(slow, "server"), []byte("#!/bin/sh\nexec sleep 300\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	c.ok("push", "./slow", "--version", "1")
	var d deployView
	if err := json.Unmarshal([]byte(c.ok("deploy", "slow", "1", "-o", "json")), &d); err != nil || d.ID == "" {
		t.Fatalf("deploy: %+v %v", d, err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		var v deployView
		if err := json.Unmarshal([]byte(c.ok("deploy", "status", d.ID, "-o", "json")), &v); err != nil {
			return err
		}
		if v.State != plan.StateRunning {
			return fmt.Errorf("deploy is %s, want running", v.State)
		}
		return nil
	})
	wantLines(t, "status running", c.ok("status"), d.ID, "slow", "running")
	wantLines(t, "pause", c.ok("deploy", "pause", d.ID, "--why", "look first"), "is paused")
	wantLines(t, "resume", c.ok("deploy", "resume", d.ID), "is running")
	wantLines(t, "abort", c.ok("deploy", "abort", d.ID, "--why", "never listens"), "is aborted")
	wantLines(t, "deploys", c.ok("deploys", "slow"), d.ID, "aborted")
}

// Pushing with a token that cannot push names the scopes that can: a token
// of another team (the app is taken: 409, without naming the team), and a
// token with no team (403).
func TestPushWithAnotherTeamsTokenNamesTheScopes(t *testing.T) {
	dir := t.TempDir()
	p := startWharf(t, dir, nil, serveArgs(t)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	p.waitFor(reToken, 5*time.Second)
	c := cli{t: t, dir: dir, env: []string{"WHARF_SERVER=" + gw}}
	shop := createToken(t, c, "--team", "shop")
	evil := createToken(t, c, "--team", "evil")
	ingest := createToken(t, c, "--name", "metrics", "--scope", "ingest")
	writeAppDir(t, dir, "shop")
	c.with("WHARF_TOKEN="+shop).ok("push", "./shop", "--version", "1")

	errOut := c.with("WHARF_TOKEN="+evil).fails("belongs to another team", "push", "./shop", "--version", "2")
	wantLines(t, "push as another team", errOut, "only admin or that team's team:<team> scope may push it")
	if strings.Contains(errOut, "team:shop") {
		t.Errorf("the refusal names the owning team: %s", errOut)
	}
	errOut = c.with("WHARF_TOKEN="+ingest).fails("cannot push", "push", "./shop", "--version", "2", "-o", "json")
	var eb cliout.ErrorBody
	if json.Unmarshal([]byte(errOut), &eb) != nil || eb.Status != 403 || !strings.Contains(eb.Error, "need one of admin, team:<team>") || strings.Contains(eb.Error, "agent") {
		t.Fatalf("push as ingest: %q", errOut)
	}
}
