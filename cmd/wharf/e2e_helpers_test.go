package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/redact"
)

// wharfBin is the binary under test, built once by TestMain.
var wharfBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wharf-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	wharfBin = filepath.Join(dir, "wharf")
	out, err := exec.Command("go", "build", "-o", wharfBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot build wharf: %v\n%s", err, out)
		os.Exit(1)
	}
	code := checkEveryCommandRan(m.Run())
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running wharf process.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
	err    error
}

type syncWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// startWharf runs the binary with args in dir and env.
func startWharf(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	crossable(t, dir)
	p := &proc{t: t, done: make(chan struct{})}
	p.cmd = exec.Command(wharfBin, args...)
	p.cmd.Dir = dir
	p.cmd.Env = append(cleanEnv(), env...)
	p.cmd.Stdout = syncWriter{&p.mu, &p.stdout}
	p.cmd.Stderr = syncWriter{&p.mu, &p.stderr}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ran.record(args)
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if redact.HasToken(p.errOut()) {
			t.Errorf("wharf %v logged a token:\n%s", args, p.errOut())
		}
		if t.Failed() {
			t.Logf("wharf %v stdout:\n%s\nstderr:\n%s", args, p.out(), p.errOut())
		}
	})
	return p
}

// cleanEnv drops WHARF_* variables of the developer's shell, and points
// WHARF_CLI_CONFIG at a file that does not exist, so that the developer's saved
// contexts play no part (tests that log in pass their own WHARF_CLI_CONFIG).
func cleanEnv() []string {
	env := []string{"WHARF_CLI_CONFIG=" + filepath.Join(os.TempDir(), "wharf-e2e-no-config", "config.yaml")}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WHARF_") {
			env = append(env, kv)
		}
	}
	return env
}

func (p *proc) out() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String()
}

func (p *proc) errOut() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// waitFor waits until stdout matches re and returns the submatches.
func (p *proc) waitFor(re *regexp.Regexp, timeout time.Duration) []string {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(p.out()); m != nil {
			return m
		}
		select {
		case <-p.done:
			p.t.Fatalf("wharf exited (%v) before printing %s\nstdout: %s\nstderr: %s", p.err, re, p.out(), p.errOut())
		case <-time.After(20 * time.Millisecond):
		}
	}
	p.t.Fatalf("wharf did not print %s within %v\nstdout: %s\nstderr: %s", re, timeout, p.out(), p.errOut())
	return nil
}

// stop sends SIGTERM and waits for the exit code.
func (p *proc) stop(timeout time.Duration) int {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	return p.wait(timeout)
}

func (p *proc) wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("wharf did not exit within %v\nstderr: %s", timeout, p.errOut())
	}
	return p.cmd.ProcessState.ExitCode()
}

// crossable lets other users cross (not list) dir, a t.TempDir(), and
// the test's temporary root above it: the agent runs apps as users of
// their own, which must reach their releases under <dir>/data/agent.
func crossable(t *testing.T, dir string) {
	t.Helper()
	if dir == "" {
		return
	}
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
}

// runWharf runs a CLI command to completion.
func runWharf(t *testing.T, dir string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runWharfStdin(t, dir, env, "", args...)
}

// runWharfStdin runs a CLI command to completion with stdin as its input.
func runWharfStdin(t *testing.T, dir string, env []string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, wharfBin, args...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	err := cmd.Run()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatal(err)
		}
	}
	if redact.HasToken(e.String()) {
		t.Errorf("wharf %v wrote a token to stderr:\n%s", args, e.String())
	}
	if cmd.ProcessState.ExitCode() == 0 {
		ran.record(args)
	}
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}

type apiResp struct {
	status int
	body   map[string]any
	raw    string
	header http.Header
}

func call(t *testing.T, method, url, token string, body any) apiResp {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := apiResp{status: resp.StatusCode, raw: string(raw), header: resp.Header}
	if r.status >= 400 && redact.HasToken(r.raw) {
		t.Errorf("%s %s: the %d answer holds a token: %s", method, url, r.status, r.raw)
	}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func readLines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}
