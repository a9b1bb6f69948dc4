package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cli runs CLI commands in one directory with one environment.
type cli struct {
	t   *testing.T
	dir string
	env []string
}

// ok runs a command that must succeed and returns its stdout.
func (c cli) ok(args ...string) string {
	c.t.Helper()
	out, errOut, code := runWharf(c.t, c.dir, c.env, args...)
	if code != 0 {
		c.t.Fatalf("wharf %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// fails runs a command that must fail and say want on stderr.
func (c cli) fails(want string, args ...string) string {
	c.t.Helper()
	out, errOut, code := runWharf(c.t, c.dir, c.env, args...)
	if code == 0 || !strings.Contains(errOut, want) {
		c.t.Fatalf("wharf %s: exit %d, stderr %q; want a failure that says %q\nstdout: %s", strings.Join(args, " "), code, errOut, want, out)
	}
	return errOut
}

// with returns c with more environment.
func (c cli) with(env ...string) cli {
	c.env = append(append([]string(nil), c.env...), env...)
	return c
}

// wantLines fails unless out has every want.
func wantLines(t *testing.T, what, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%s: output lacks %q:\n%s", what, w, out)
		}
	}
}

// Credentials like kubectl/fly: `wharf login` checks the token and saves a
// context (0600 file in a 0700 dir); every command uses the current
// context; flags beat the environment, which beats the context, which beats
// <data-dir>/admin.token; with no token the error names every place looked.
func TestLoginContextsAndCredentialPrecedence(t *testing.T) {
	dir := t.TempDir()
	p := startWharf(t, dir, nil, serveArgs(t)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	admin := p.waitFor(reToken, 5*time.Second)[1]
	cfgPath := filepath.Join(dir, "home", "wharf", "config.yaml")
	elsewhere := t.TempDir() // no data/admin.token here
	c := cli{t: t, dir: elsewhere, env: []string{"WHARF_CLI_CONFIG=" + cfgPath}}

	// No token anywhere: the error names each place.
	errOut := c.fails("no token for http://127.0.0.1:8080", "whoami")
	wantLines(t, "no-token error", errOut, "--token", "WHARF_TOKEN", cfgPath, "no current context", "admin.token", "wharf login --server")

	// A bad token is refused and nothing is saved.
	if _, errOut, code := runWharfStdin(t, elsewhere, c.env, "wharf_nope\n", "login", "--server", gw, "--token-stdin"); code == 0 || !strings.Contains(errOut, "invalid or revoked token") {
		t.Fatalf("login with a bad token: %d %s", code, errOut)
	}
	if _, err := os.Stat(cfgPath); !os.IsNotExist(err) {
		t.Fatalf("a failed login wrote %s: %v", cfgPath, err)
	}

	// Log in with the token on stdin.
	out, errOut, code := runWharfStdin(t, elsewhere, c.env, admin+"\n", "login", "--server", gw, "--token-stdin", "--name", "local")
	if code != 0 || !strings.Contains(out, "Logged in to "+gw+" as admin") || strings.Contains(out, admin) {
		t.Fatalf("login: %d\n%s\n%s", code, out, errOut)
	}
	for path, mode := range map[string]os.FileMode{cfgPath: 0o600, filepath.Dir(cfgPath): 0o700} {
		st, err := os.Stat(path)
		if err != nil || st.Mode().Perm() != mode {
			t.Fatalf("%s: %v, want mode %v", path, err, mode)
		}
	}

	// Every command now uses the context.
	wantLines(t, "whoami", c.ok("whoami"), "Name:", "admin", "Scopes:")
	wantLines(t, "context list", c.ok("context", "list"), "CURRENT", "*", "local", gw)
	wantLines(t, "context current", c.ok("context", "current"), "local ("+gw+")")
	var cur contextView
	if err := json.Unmarshal([]byte(c.ok("context", "current", "-o", "json")), &cur); err != nil || cur.Name != "local" || !cur.Current {
		t.Fatalf("context current -o json: %+v %v", cur, err)
	}
	if out := c.ok("context", "list", "-o", "json"); strings.Contains(out, admin) || !strings.Contains(out, `"server": "`+gw+`"`) {
		t.Fatalf("context list -o json shows a token or lacks the server: %s", out)
	}

	// A team token in a second context; switching contexts switches identity.
	tok := createToken(t, c, "--team", "shop")
	c.with("WHARF_TOKEN="+tok).ok("login", "--server", gw+"/", "--name", "shop")
	wantLines(t, "whoami as shop", c.ok("whoami"), "team:shop")
	c.ok("context", "use", "local")
	wantLines(t, "whoami after use", c.ok("whoami"), "Scopes:  admin")
	wantLines(t, "--context", c.ok("whoami", "--context", "shop"), "team:shop")
	c.fails(`no context "nope"`, "whoami", "--context", "nope")
	c.fails(`no context "nope"`, "context", "use", "nope")

	// Precedence: WHARF_TOKEN beats the context, --token beats WHARF_TOKEN.
	c.with("WHARF_TOKEN=wharf_nope").fails("invalid or revoked token", "whoami")
	wantLines(t, "--token over WHARF_TOKEN", c.with("WHARF_TOKEN=wharf_nope").ok("whoami", "--token", tok), "team:shop")
	// The context's token is not sent to another server.
	c.fails("no token for http://127.0.0.1:1", "whoami", "--server", "http://127.0.0.1:1")
	// Below everything, the local serve's admin.token.
	local := cli{t: t, dir: dir, env: []string{"WHARF_CLI_CONFIG=" + filepath.Join(dir, "none.yaml"), "WHARF_SERVER=" + gw}}
	wantLines(t, "admin.token", local.ok("whoami"), "admin")

	// A config file others may read is refused, not used.
	if err := os.Chmod(cfgPath, 0o644); err != nil {
		t.Fatal(err)
	}
	c.fails("chmod 600", "whoami")
	if err := os.Chmod(cfgPath, 0o600); err != nil {
		t.Fatal(err)
	}

	c.ok("context", "remove", "shop")
	if out := c.ok("context", "list"); strings.Contains(out, "shop") {
		t.Fatalf("removed context still listed:\n%s", out)
	}
	wantLines(t, "logout", c.ok("logout"), `Removed context "local"`)
	c.fails("no current context", "whoami")
	c.fails("not logged in", "logout")
	wantLines(t, "empty list", c.ok("context", "list"), "No contexts")
}

// createToken makes a token with `wharf token create` as c's identity.
func createToken(t *testing.T, c cli, args ...string) string {
	t.Helper()
	var tv tokenView
	if err := json.Unmarshal([]byte(c.ok(append([]string{"token", "create", "-o", "json"}, args...)...)), &tv); err != nil || tv.Token == "" {
		t.Fatalf("token create: %+v %v", tv, err)
	}
	return tv.Token
}

// On a terminal, `wharf login` asks for the token (util-linux script(1)
// gives it one). Without a terminal and without a token it says how to
// give one instead of waiting.
func TestLoginPromptsOnATerminal(t *testing.T) {
	dir := t.TempDir()
	p := startWharf(t, dir, nil, serveArgs(t)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	admin := p.waitFor(reToken, 5*time.Second)[1]
	cfg := "WHARF_CLI_CONFIG=" + filepath.Join(dir, "cli.yaml")

	script, err := exec.LookPath("script")
	if err != nil {
		t.Fatalf("script(1) from util-linux is needed to give wharf a terminal: %v", err)
	}
	cmd := exec.Command(script, "-qec", wharfBin+" login --server "+gw+" --name tty", "/dev/null")
	cmd.Dir, cmd.Env, cmd.Stdin = dir, append(cleanEnv(), cfg), strings.NewReader(admin+"\n")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Token: ") || !strings.Contains(string(out), "Logged in to "+gw+" as admin") {
		t.Fatalf("login on a terminal: %v\n%s", err, out)
	}
	c := cli{t: t, dir: t.TempDir(), env: []string{cfg}}
	wantLines(t, "after the prompt", c.ok("context", "current"), "tty ("+gw+")")
	c.fails("no token: pass --token-stdin", "login", "--server", gw)
}
