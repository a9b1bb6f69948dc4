package gateway_test

import (
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/internal/bodylimit"
	"github.com/wharfhq/wharf/internal/httperr"
)

type echoFunctions struct{}

func (echoFunctions) HasFunction(string) bool { return true }

func (echoFunctions) ServeFunction(_ string, ctx *fasthttp.RequestCtx, rid string, maxBody int64) bool {
	if !strings.HasPrefix(string(ctx.Path()), "/api/") {
		return false
	}
	if he := bodylimit.Read(ctx, maxBody); he != nil {
		httperr.Write(ctx, nil, rid, he)
		return true
	}
	ctx.SetBodyString("rid=" + rid + " hdr=" + string(ctx.Request.Header.Peek(gateway.HeaderRequestID)))
	return true
}

func start(t *testing.T, opts gateway.Options) *gateway.Gateway {
	t.Helper()
	return gatewaytest.Start(t, opts, echoFunctions{})
}

func do(t *testing.T, g *gateway.Gateway, method, path string, hdr map[string]string, body string) gatewaytest.Response {
	t.Helper()
	return gatewaytest.Do(t, g.Addr().String(), method, path, hdr, body)
}

func TestNotFoundIsJSONWithRequestID(t *testing.T) {
	g := start(t, gateway.Options{})
	resp := do(t, g, "GET", "/nope", nil, "")
	if resp.Status != 404 {
		t.Fatalf("status %d", resp.Status)
	}
	var b struct {
		Error     string `json:"error"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal(resp.Body, &b); err != nil || b.Error == "" {
		t.Fatalf("%v %s", err, resp.Body)
	}
	if b.RequestID == "" || b.RequestID != string(resp.Header[gateway.HeaderRequestID]) {
		t.Fatalf("request id %q vs header %q", b.RequestID, resp.Header[gateway.HeaderRequestID])
	}
}

func TestRequestIDUntrustedIsReplaced(t *testing.T) {
	g := start(t, gateway.Options{})
	resp := do(t, g, "GET", "/api/x", map[string]string{gateway.HeaderRequestID: "spoofed"}, "")
	body := resp.String()
	if strings.Contains(body, "spoofed") {
		t.Fatalf("untrusted request id kept: %s", body)
	}
	rid := string(resp.Header[gateway.HeaderRequestID])
	if body != "rid="+rid+" hdr="+rid {
		t.Fatalf("function must see the same id: %s (header %s)", body, rid)
	}
	resp2 := do(t, g, "GET", "/api/x", nil, "")
	if string(resp2.Header[gateway.HeaderRequestID]) == rid {
		t.Fatal("ids repeat")
	}
}

func TestRequestIDTrustedIsKept(t *testing.T) {
	g := start(t, gateway.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	resp := do(t, g, "GET", "/api/x", map[string]string{gateway.HeaderRequestID: "edge-42"}, "")
	if got := string(resp.Header[gateway.HeaderRequestID]); got != "edge-42" {
		t.Fatalf("trusted id replaced: %s", got)
	}
	resp = do(t, g, "GET", "/api/x", map[string]string{gateway.HeaderRequestID: "bad id with spaces"}, "")
	if got := string(resp.Header[gateway.HeaderRequestID]); strings.Contains(got, " ") {
		t.Fatalf("malformed id kept: %q", got)
	}
}

func TestBodyTooLargeAndMalformed(t *testing.T) {
	g := start(t, gateway.Options{MaxBodyBytes: 10})
	resp := do(t, g, "POST", "/api/x", nil, strings.Repeat("x", 100))
	if resp.Status != 413 || !strings.Contains(resp.String(), "exceeds 10 bytes") {
		t.Fatalf("%d %s", resp.Status, resp.Body)
	}
	c, err := net.Dial("tcp", g.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte("GARBAGE\r\n\r\n"))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, _ := c.Read(buf)
	if !strings.HasPrefix(string(buf[:n]), "HTTP/1.1 400") || !strings.Contains(string(buf[:n]), `"error"`) {
		t.Fatalf("malformed request answer: %q", buf[:n])
	}
}

func TestIPv6Listener(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback on this machine")
	}
	ln.Close()
	g := start(t, gateway.Options{Listen: "[::1]:0"})
	if resp := do(t, g, "GET", "/api/v6", nil, ""); resp.Status != 200 {
		t.Fatalf("status %d", resp.Status)
	}
}

func TestShutdownBeforeRun(t *testing.T) {
	g, err := gateway.New(gateway.Options{Listen: "127.0.0.1:0"}, echoFunctions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.Run() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run blocked after Shutdown")
	}
}

func TestShutdownDrainsInFlight(t *testing.T) {
	slow, entered := make(chan struct{}), make(chan struct{}, 1)
	g, err := gateway.New(gateway.Options{Listen: "127.0.0.1:0"}, slowFunctions{slow, entered})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Run() }()
	got := make(chan int, 1)
	go func() {
		var resp fasthttp.Response
		req := fasthttp.AcquireRequest()
		req.SetRequestURI("http://" + g.Addr().String() + "/api/slow")
		if err := fasthttp.DoTimeout(req, &resp, 5*time.Second); err != nil {
			got <- -1
			return
		}
		got <- resp.StatusCode()
	}()
	<-entered // the request is in flight
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shut <- g.Shutdown(ctx)
	}()
	close(slow)
	if code := <-got; code != 200 {
		t.Fatalf("in-flight request got %d during shutdown", code)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
}

type slowFunctions struct{ release, entered chan struct{} }

func (s slowFunctions) HasFunction(string) bool { return true }

func (s slowFunctions) ServeFunction(_ string, ctx *fasthttp.RequestCtx, _ string, _ int64) bool {
	s.entered <- struct{}{}
	<-s.release
	ctx.SetBodyString("done")
	return true
}
