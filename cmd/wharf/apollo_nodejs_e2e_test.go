package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

// apolloEvent is one JSON line testdata/apollo-client.js prints.
type apolloEvent struct {
	Event          string            `json:"event"`
	Version        string            `json:"version"`
	Configurations map[string]any    `json:"configurations"`
	ReleaseKey     string            `json:"releaseKey"`
	Values         map[string]string `json:"values"` // the client's getValue of timeout, color and db.url
	Error          string            `json:"error"`
}

// apolloApp is a running testdata/apollo-client.js: an app using the
// unmodified Node.js Apollo client.
type apolloApp struct {
	t      *testing.T
	cmd    *exec.Cmd
	events chan apolloEvent
	mu     sync.Mutex
	stderr bytes.Buffer
}

// Write collects the client's log (its stderr).
func (a *apolloApp) Write(b []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stderr.Write(b)
}

func (a *apolloApp) log() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stderr.String()
}

// startApolloApp runs the Node.js Apollo client against the gateway gw
// (its meta server) for app's namespace application in cluster default,
// signing with secret and keeping its backup in backup.
func startApolloApp(t *testing.T, gw, app, secret, backup string) *apolloApp {
	t.Helper()
	node, dir := testenv.ApolloJS(t)
	script, err := filepath.Abs(filepath.Join("testdata", "apollo-client.js"))
	if err != nil {
		t.Fatal(err)
	}
	a := &apolloApp{t: t, events: make(chan apolloEvent, 64)}
	a.cmd = exec.Command(node, script, dir)
	a.cmd.Env = append(os.Environ(), "APOLLO_META="+gw, "APOLLO_APP_ID="+app, "APOLLO_CLUSTER=default",
		"APOLLO_NAMESPACE=application", "APOLLO_ACCESS_KEY="+secret, "APOLLO_CONFIG_PATH="+backup, "APOLLO_KEYS=timeout,color,db.url")
	a.cmd.Stderr = a
	out, err := a.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("cannot start node: %v", err)
	}
	go func() {
		defer close(a.events)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			var ev apolloEvent
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				ev = apolloEvent{Event: "unparsable", Error: sc.Text()}
			}
			a.events <- ev
		}
	}()
	t.Cleanup(a.stop)
	return a
}

// stop kills the client.
func (a *apolloApp) stop() {
	if a.cmd.ProcessState == nil {
		_ = a.cmd.Process.Kill()
		_ = a.cmd.Wait()
	}
}

// await returns the first event of kind that matches ok (nil: any),
// failing the test with the client's log after timeout, or at once when
// the client started the other way ("ready" and "fallback" exclude each
// other).
func (a *apolloApp) await(kind string, ok func(apolloEvent) bool, timeout time.Duration) apolloEvent {
	a.t.Helper()
	deadline := time.After(timeout)
	var seen []apolloEvent
	for {
		select {
		case ev, open := <-a.events:
			if !open {
				a.t.Fatalf("the Apollo client exited before %q; events %+v\nlog:\n%s", kind, seen, a.log())
			}
			if ev.Event == kind && (ok == nil || ok(ev)) {
				return ev
			}
			if (kind == "ready" && ev.Event == "fallback") || (kind == "fallback" && ev.Event == "ready") {
				a.t.Fatalf("the Apollo client started with %+v, want %q\nlog:\n%s", ev, kind, a.log())
			}
			seen = append(seen, ev)
		case <-deadline:
			a.t.Fatalf("no %q event from the Apollo client after %s; events %+v\nlog:\n%s", kind, timeout, seen, a.log())
		}
	}
}

var rePollsHeld = regexp.MustCompile(`(?m)^wharf_config_polls_held ([0-9.e+]+)$`)

// awaitHeldPoll waits until the node at internal holds a notification poll.
func awaitHeldPoll(t *testing.T, internal string) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, func() error {
		m := rePollsHeld.FindStringSubmatch(call(t, "GET", internal+"/metrics", "", nil).raw)
		if m == nil {
			return fmt.Errorf("no wharf_config_polls_held in /metrics")
		}
		if n, _ := strconv.ParseFloat(m[1], 64); n < 1 {
			return fmt.Errorf("wharf_config_polls_held %s", m[1])
		}
		return nil
	})
}

// TestApolloNodeClientAgainstServe: an unmodified Apollo client
// (@lvgithub/ctrip-apollo-client under node, its public API only) pointed
// at a real serve — Wharf's gateway as its meta server, appId "Shop" (the
// app is shop: Apollo matches appIds without regard to case), signing
// with an access key made by `wharf config accesskey create` — reads a
// namespace published with the CLI, gets the next publish through its
// held notifications/v2 long poll, sees a rollback, a gray release and
// its abandon the same way, is refused with a wrong secret, and with
// Wharf stopped starts from its backup file with the last values.
func TestApolloNodeClientAgainstServe(t *testing.T) {
	// Long and mostly waiting: runs beside the other parallel e2e tests,
	// after the sequential ones (which count goroutines and listeners).
	t.Parallel()
	testenv.ApolloJS(t)
	dir := t.TempDir()
	p := startWharf(t, dir, nil, serveArgs(t)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	internal := p.waitFor(reInternal, 5*time.Second)[1]
	p.waitFor(reToken, 5*time.Second)
	admin := cli{t: t, dir: dir, env: []string{"WHARF_SERVER=" + gw}}
	c := admin.with("WHARF_TOKEN=" + createToken(t, admin, "--team", "shop"))

	c.ok("config", "set", "shop", "timeout", "100")
	c.ok("config", "set", "shop", "db.url", "jdbc:one")
	c.ok("config", "publish", "shop", "--comment", "first")
	var key struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal([]byte(c.ok("config", "accesskey", "create", "shop", "-o", "json")), &key); err != nil || key.Secret == "" {
		t.Fatalf("accesskey create: %v", err)
	}
	backup := filepath.Join(t.TempDir(), "apolloConfig.json")
	values := func(ev apolloEvent, timeout, color string) bool {
		return ev.Values["timeout"] == timeout && ev.Values["color"] == color && ev.Values["db.url"] == "jdbc:one"
	}

	// A wrong secret: every read is refused (401), the client has no
	// backup yet, and it says so.
	bad := startApolloApp(t, gw, "Shop", "not-the-secret", filepath.Join(t.TempDir(), "none.json"))
	if ev := bad.await("start", nil, 30*time.Second); ev.Version != testenv.ApolloJSVersion {
		t.Fatalf("@lvgithub/ctrip-apollo-client is %s, want %s: run make deps", ev.Version, testenv.ApolloJSVersion)
	}
	if ev := bad.await("fallback", nil, 30*time.Second); ev.Configurations != nil || !strings.Contains(ev.Error, "401") {
		t.Fatalf("with a wrong secret: %+v", ev)
	}
	bad.stop()

	// Reads the namespace.
	app := startApolloApp(t, gw, "Shop", key.Secret, backup)
	first := app.await("ready", nil, 30*time.Second)
	if !values(first, "100", "") || first.ReleaseKey == "" {
		t.Fatalf("ready: %+v", first)
	}

	// A publish reaches it through its held long poll.
	awaitHeldPoll(t, internal)
	c.ok("config", "set", "shop", "timeout", "200")
	c.ok("config", "set", "shop", "color", "blue")
	c.ok("config", "publish", "shop", "--comment", "second")
	second := app.await("change", func(ev apolloEvent) bool { return ev.Values["timeout"] == "200" }, 30*time.Second)
	if !values(second, "200", "blue") || second.ReleaseKey == first.ReleaseKey {
		t.Fatalf("change after the publish: %+v (first release key %s)", second, first.ReleaseKey)
	}

	// A rollback the same way.
	awaitHeldPoll(t, internal)
	c.ok("config", "rollback", "shop", "--comment", "back")
	back := app.await("change", func(ev apolloEvent) bool { return ev.Values["timeout"] == "100" }, 30*time.Second)
	if !values(back, "100", "") || back.ReleaseKey == second.ReleaseKey {
		t.Fatalf("change after the rollback: %+v", back)
	}

	// A gray branch for every IP: its release reaches the client (it sends
	// its ip), the abandon takes it back.
	awaitHeldPoll(t, internal)
	c.ok("config", "gray", "create", "shop", "--ip", "*")
	c.ok("config", "gray", "set", "shop", "color", "green")
	c.ok("config", "gray", "publish", "shop", "--comment", "try green")
	if ev := app.await("change", func(ev apolloEvent) bool { return ev.Values["color"] == "green" }, 30*time.Second); !values(ev, "100", "green") {
		t.Fatalf("change after the gray publish: %+v", ev)
	}
	awaitHeldPoll(t, internal)
	c.ok("config", "gray", "abandon", "shop")
	last := app.await("change", func(ev apolloEvent) bool { return ev.Values["color"] == "" }, 30*time.Second)
	if !values(last, "100", "") || last.ReleaseKey != back.ReleaseKey {
		t.Fatalf("change after the abandon: %+v, want release %s again", last, back.ReleaseKey)
	}
	// The client tells its listener of a change before it writes its
	// backup file (truncate, then write): stopped in between, it leaves an
	// empty file it then refuses to start from. Wait for the file.
	testenv.Eventually(t, 30*time.Second, func() error {
		b, err := os.ReadFile(backup)
		if err != nil {
			return err
		}
		var saved map[string]struct {
			ReleaseKey string `json:"releaseKey"`
		}
		if err := json.Unmarshal(b, &saved); err != nil {
			return fmt.Errorf("backup file: %w", err)
		}
		if got := saved["application"].ReleaseKey; got != last.ReleaseKey {
			return fmt.Errorf("backup file holds release %q, want %q", got, last.ReleaseKey)
		}
		return nil
	})
	app.stop()

	// Wharf stops; the client starts from its backup file.
	if code := p.stop(20 * time.Second); code != 0 {
		t.Fatalf("serve exit %d", code)
	}
	again := startApolloApp(t, gw, "Shop", key.Secret, backup)
	if ev := again.await("fallback", nil, 30*time.Second); !values(ev, "100", "") || ev.ReleaseKey != last.ReleaseKey || ev.Error == "" {
		t.Fatalf("with Wharf stopped: %+v, want the last values (release %s) from the backup file", ev, last.ReleaseKey)
	}
}
