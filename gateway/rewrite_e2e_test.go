package gateway_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/internal/config"
)

// startTargetEcho runs a real upstream on a loopback port that answers with
// the request target exactly as it received it and, on a second line, its
// X-Forwarded-Prefix.
func startTargetEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{
		DisablePreParseMultipartForm: true,
		Handler: func(ctx *fasthttp.RequestCtx) {
			ctx.SetBodyString(string(ctx.Request.Header.RequestURI()) + "\n" + string(ctx.Request.Header.Peek("X-Forwarded-Prefix")))
		},
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return ln.Addr().String()
}

// rawGet sends "GET target" with host over a new TCP connection, exactly as
// written, and returns the status and body.
func rawGet(t *testing.T, addr, host, target string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\nX-Forwarded-Prefix: /forged\r\nConnection: close\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	var resp fasthttp.Response
	if err := resp.Read(bufio.NewReader(c)); err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	return resp.StatusCode(), string(resp.Body())
}

// TestRouteRewritesThroughTheGateway: each route option, through a real
// gateway to a real upstream that echoes the request target it got. The
// nginx equivalents are in docs/gateway-rewrites.md.
func TestRouteRewritesThroughTheGateway(t *testing.T) {
	up := startTargetEcho(t)
	route := func(host, path string, f func(r *config.RouteConfig)) config.RouteConfig {
		r := config.RouteConfig{Name: strings.ReplaceAll(strings.TrimSuffix(host, ".test"), ".", "-"), Host: host, Path: path, Service: "echo"}
		if f != nil {
			f(&r)
		}
		return r
	}
	e := config.Edge{
		Services: []config.ServiceConfig{{Name: "echo", Instances: []config.InstanceConfig{{Addr: up}}}},
		Routes: []config.RouteConfig{
			route("plain.test", "/shop", nil),
			route("strip.test", "/shop", func(r *config.RouteConfig) { r.StripPrefix = true }),
			route("strip-slash.test", "/shop/", func(r *config.RouteConfig) { r.StripPrefix = true }),
			route("seg.test", "/shop", func(r *config.RouteConfig) { r.Match, r.StripPrefix = config.MatchSegment, true }),
			route("seg-plain.test", "/shop", func(r *config.RouteConfig) { r.Match = config.MatchSegment }),
			route("new.test", "/shop/", func(r *config.RouteConfig) { r.Rewrite = &config.RewriteConfig{Prefix: "/new/"} }),
			route("new-noslash.test", "/shop", func(r *config.RouteConfig) { r.Rewrite = &config.RewriteConfig{Prefix: "/new"} }),
			route("new-mixed.test", "/shop", func(r *config.RouteConfig) { r.Rewrite = &config.RewriteConfig{Prefix: "/new/"} }),
			route("root.test", "/", func(r *config.RouteConfig) { r.Rewrite = &config.RewriteConfig{Prefix: "/v1/"} }),
		},
	}
	g := gatewaytest.Start(t, gateway.Options{Edge: e}, echoFunctions{})
	addr := g.Addr().String()
	cases := []struct {
		host, target string
		status       int
		upstream     string // the request target the upstream got
		prefix       string // its X-Forwarded-Prefix
	}{
		// No option: today's behaviour, the target as sent, no prefix header
		// (and the client's forged one dropped).
		{"plain.test", "/shop/cart?x=1", 200, "/shop/cart?x=1", ""},
		{"plain.test", "/shopping", 200, "/shopping", ""},
		// strip_prefix: Kong's strip_path.
		{"strip.test", "/shop/cart?x=1", 200, "/cart?x=1", "/shop"},
		{"strip.test", "/shop", 200, "/", "/shop"},
		{"strip.test", "/shop/", 200, "/", "/shop"},
		{"strip.test", "/shop?q=a%20b", 200, "/?q=a%20b", "/shop"},
		{"strip.test", "/shopping", 200, "/ping", "/shop"},
		{"strip.test", "/shop/a%2Fb%3F?x=%2F", 200, "/a%2Fb%3F?x=%2F", "/shop"},
		{"strip.test", "/shop/caf%C3%A9", 200, "/caf%C3%A9", "/shop"},
		{"strip.test", "/shop//cart", 200, "/cart", "/shop"},
		{"strip.test", "/shop/./a/../cart", 200, "/cart", "/shop"},
		{"strip.test", "/shop/..", 404, "", ""},
		{"strip.test", "/shop/../admin", 404, "", ""},
		{"strip.test", "/shop/%2e%2e/admin", 404, "", ""},
		{"strip.test", "/shop..%2F..%2Fadmin", 404, "", ""}, // normalized to /admin
		{"strip.test", "http://strip.test/shop/cart?x=1", 200, "/cart?x=1", "/shop"},
		{"strip-slash.test", "/shop/cart", 200, "/cart", "/shop"},
		{"strip-slash.test", "/shop", 404, "", ""},
		// match: segment.
		{"seg.test", "/shop", 200, "/", "/shop"},
		{"seg.test", "/shop/", 200, "/", "/shop"},
		{"seg.test", "/shop/x", 200, "/x", "/shop"},
		{"seg.test", "/shopping", 404, "", ""},
		{"seg-plain.test", "/shop/x?y", 200, "/shop/x?y", ""},
		{"seg-plain.test", "/shopping", 404, "", ""},
		// rewrite: nginx's proxy_pass with a URI.
		{"new.test", "/shop/cart?x=1", 200, "/new/cart?x=1", "/shop"},
		{"new.test", "/shop/", 200, "/new/", "/shop"},
		{"new.test", "/shop", 404, "", ""},
		{"new.test", "/shop/a%2Fb", 200, "/new/a%2Fb", "/shop"},
		{"new.test", "/shop//a//b", 200, "/new/a/b", "/shop"},
		{"new.test", "/shop/a/../../admin", 404, "", ""},
		{"new-noslash.test", "/shop/cart", 200, "/new/cart", "/shop"},
		{"new-noslash.test", "/shop", 200, "/new", "/shop"},
		{"new-noslash.test", "/shopping", 200, "/newping", "/shop"},
		{"new-mixed.test", "/shop/cart", 200, "/new/cart", "/shop"},
		{"new-mixed.test", "/shop", 200, "/new/", "/shop"},
		{"new-mixed.test", "/shopping", 200, "/new/ping", "/shop"},
		{"new-mixed.test", "/shop..", 200, "/new/", "/shop"},
		{"root.test", "/users/7?full=1", 200, "/v1/users/7?full=1", ""},
		{"root.test", "/", 200, "/v1/", ""},
		{"root.test", "/../etc/passwd", 200, "/v1/etc/passwd", ""},
	}
	for _, c := range cases {
		status, body := rawGet(t, addr, c.host, c.target)
		if status != c.status {
			t.Errorf("%s %s: status %d (%s), want %d", c.host, c.target, status, body, c.status)
			continue
		}
		if c.status != 200 {
			continue
		}
		target, prefix, _ := strings.Cut(body, "\n")
		if target != c.upstream || prefix != c.prefix {
			t.Errorf("%s %s: upstream got %q with X-Forwarded-Prefix %q, want %q and %q", c.host, c.target, target, prefix, c.upstream, c.prefix)
		}
	}
}

// TestBadRewriteIsRefusedAtStart: a config that skipped validation (a Go
// caller) still cannot make the gateway send unsafe paths.
func TestBadRewriteIsRefusedAtStart(t *testing.T) {
	e := config.Edge{
		Services: []config.ServiceConfig{{Name: "echo", Instances: []config.InstanceConfig{{Addr: "127.0.0.1:9"}}}},
		Routes:   []config.RouteConfig{{Name: "r", Path: "/shop", Service: "echo", Rewrite: &config.RewriteConfig{Prefix: "/a/../"}}},
	}
	_, err := gateway.New(gateway.Options{Listen: "127.0.0.1:0", Edge: e}, echoFunctions{})
	if err == nil || !strings.Contains(err.Error(), "rewrite.prefix") {
		t.Fatalf("got %v", err)
	}
}
