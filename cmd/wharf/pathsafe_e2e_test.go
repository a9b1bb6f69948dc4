package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startTargetEcho runs an upstream that answers with the request target
// exactly as it received it.
func startTargetEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.RequestURI)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// rawTarget sends "GET target" to the gateway at url exactly as written and
// returns the status line's code and the body.
func rawTarget(t *testing.T, url, target string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n", target); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = bufio.NewReader(resp.Body).WriteTo(&b)
	return resp.StatusCode, b.String()
}

// TestUpstreamPathIsNormalizedFromTheCLI: against a real `serve`, a route
// sends the upstream the client's path when it is safe and the normalized
// path the gateway decided on when it is not; a route put with
// pass_raw_path: true gets the raw target; pass_raw_path where it cannot
// apply is refused naming the field.
func TestUpstreamPathIsNormalizedFromTheCLI(t *testing.T) {
	dir := t.TempDir()
	up := startTargetEcho(t)
	cfg := filepath.Join(dir, "wharf.yaml")
	write := func(path, s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(cfg, edgeYAML(up, 100))
	p := startWharf(t, dir, nil, append(serveArgs(t), "--config", cfg)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	p.waitFor(reToken, 5*time.Second)
	env := []string{"WHARF_SERVER=" + gw}
	waitStatus(t, gw+"/shop/x", 200)

	route := filepath.Join(dir, "route.yaml")
	write(route, "path: /legacy/\nservice: shop\npass_raw_path: true\n")
	if out, errOut, code := runWharf(t, dir, env, "route", "put", "legacy", "-f", route); code != 0 {
		t.Fatalf("route put legacy: %d %s %s", code, out, errOut)
	}
	waitStatus(t, gw+"/legacy/x", 200)
	out, _, _ := runWharf(t, dir, env, "route", "list", "-o", "json")
	if !strings.Contains(out, `"pass_raw_path": true`) && !strings.Contains(out, `"pass_raw_path":true`) {
		t.Errorf("route list does not show pass_raw_path: %s", out)
	}

	for target, want := range map[string]string{
		"/shop/a%2Fb?x=1":      "/shop/a%2Fb?x=1",
		"/shop/..;/admin/x":    "/shop/admin/x",
		"/shop//a/./b":         "/shop/a/b",
		"/shop/a/%2e%2e/b":     "/shop/b",
		"/legacy/..;/admin/x":  "/legacy/..;/admin/x",
		"/legacy//a/./b?y=%20": "/legacy//a/./b?y=%20",
	} {
		if code, body := rawTarget(t, gw, target); code != 200 || body != want {
			t.Errorf("GET %s: %d, upstream got %q, want %q", target, code, body, want)
		}
	}

	for body, msg := range map[string]string{
		"path: /y/\nfunction: api\npass_raw_path: true\n":                     "pass_raw_path: only routes to a service",
		"path: /y/\nservice: shop\npass_raw_path: true\nstrip_prefix: true\n": "pass_raw_path: cannot be set together with strip_prefix or rewrite",
	} {
		write(route, body)
		if out, errOut, code := runWharf(t, dir, env, "route", "put", "y", "-f", route); code == 0 || !strings.Contains(errOut, msg) {
			t.Errorf("route put %q: %d %s %s; want an error with %q", body, code, out, errOut, msg)
		}
	}
}
