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

// startLenientUpstream runs a real upstream on a loopback port that reads the
// request target as the servers behind a gateway often do, and answers, one
// per line: the request target exactly as received, the path as a lenient
// server resolves it (Tomcat, IIS and friends: percent-escapes decoded,
// %2F, %5C and "\" taken as "/", ";parameters" of a segment ignored, so that
// "..;" is "..", then "." and ".." resolved), and the path as a segment
// router reads it (Go's ServeMux, Express, Spring with encoded slashes kept:
// split on literal "/" first, so that "..%2Fpublic" is one segment).
func startLenientUpstream(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{
		DisablePreParseMultipartForm: true,
		Handler: func(ctx *fasthttp.RequestCtx) {
			target := string(ctx.Request.Header.RequestURI())
			path, _, _ := strings.Cut(target, "?")
			ctx.SetBodyString(target + "\n" + lenientPath(path) + "\n" + segmentPath(path))
		},
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return ln.Addr().String()
}

// lenientPath resolves a raw path the way the most lenient upstream does.
func lenientPath(raw string) string {
	var out []string
	for _, seg := range strings.Split(strings.ReplaceAll(percentDecode(raw), `\`, "/"), "/") {
		seg, _, _ = strings.Cut(seg, ";")
		switch seg {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
		}
	}
	return "/" + strings.Join(out, "/")
}

// segmentPath splits a raw path on literal slashes, then decodes each
// segment (an encoded slash stays inside its segment), resolving "." and
// ".." segments as they read after decoding.
func segmentPath(raw string) string {
	var out []string
	for _, seg := range strings.Split(raw, "/") {
		switch seg = percentDecode(seg); seg {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, strings.ReplaceAll(seg, "/", "%2F"))
		}
	}
	return "/" + strings.Join(out, "/")
}

func percentDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, ok := unhex2(s[i+1], s[i+2]); ok {
				b.WriteByte(v)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func unhex2(a, b byte) (byte, bool) {
	h := func(c byte) (byte, bool) {
		switch {
		case '0' <= c && c <= '9':
			return c - '0', true
		case 'a' <= c && c <= 'f':
			return c - 'a' + 10, true
		case 'A' <= c && c <= 'F':
			return c - 'A' + 10, true
		}
		return 0, false
	}
	x, ok1 := h(a)
	y, ok2 := h(b)
	return x<<4 | y, ok1 && ok2
}

// TestPathConfusionCannotBypassRouteACL: two routes to the same service,
// /admin with an allow list the test client is not on, /public/ open. A
// request whose normalized path (what routing, ACLs and limits decide on)
// lands on the open route must not reach the upstream as a target that the
// upstream resolves into /admin: the classic "..;/", "%2F" and backslash
// confusions between a proxy and Tomcat, IIS or a segment router.
func TestPathConfusionCannotBypassRouteACL(t *testing.T) {
	up := startLenientUpstream(t)
	e := config.Edge{
		Services: []config.ServiceConfig{{Name: "app", Instances: []config.InstanceConfig{{Addr: up}}}},
		Routes: []config.RouteConfig{
			{Name: "admin", Path: "/admin", Match: config.MatchSegment, Service: "app", ACL: config.ACLConfig{Allow: []string{"192.0.2.1/32"}}},
			{Name: "public", Path: "/public/", Service: "app"},
			{Name: "docs", Path: "/admin/docs/", Service: "app"}, // open, inside the closed /admin
		},
	}
	g := gatewaytest.Start(t, gateway.Options{Edge: e}, echoFunctions{})
	addr := g.Addr().String()

	// Each of these must be refused by the admin route's ACL (403) or reach
	// the upstream as a path that no reading puts under /admin (but for the
	// open /admin/docs/).
	attacks := []string{
		"/admin/docs%2F..%2Fx",
		"/admin/docs%2Fx",
		"/admin%2Fdocs/x",
		"/admin/docs/..;/x",
		"/admin/..%2Fpublic/x",
		"/admin/x/..%2F..%2Fpublic/y",
		"/admin%2F..%2Fpublic/x",
		"/public/..;/admin/x",
		"/public/..;x=1/admin/x",
		"/public/%2e%2e;/admin/x",
		"/public/..%3B/admin/x",
		"/public/x/..;/..;/admin/y",
		"/public/.;/../admin/x",
		`/public/..\admin\x`,
		"/public/..%5Cadmin/x",
		"/public/..%5cadmin%5Cx",
		"/public/%2e%2e%5cadmin/x",
		"/public/..%2F..%2Fadmin/x",
		"/public/%2e%2e/admin",
		"/public/../admin/x",
		"/admin",
		"/admin/x",
	}
	for _, target := range attacks {
		status, body := rawGet(t, addr, "app.test", target)
		if status == 403 {
			continue
		}
		if status != 200 {
			t.Errorf("%s: status %d (%s), want 403 or 200", target, status, body)
			continue
		}
		lines := strings.Split(body, "\n")
		if len(lines) != 3 {
			t.Fatalf("%s: upstream answered %q", target, body)
		}
		for i, reading := range []string{"lenient", "segment"} {
			if p := lines[1+i]; (p == "/admin" || strings.HasPrefix(p, "/admin/")) && !strings.HasPrefix(p, "/admin/docs/") {
				t.Errorf("%s: routed to the open route, but the upstream got %q, which a %s upstream reads as %s", target, lines[0], reading, p)
			}
		}
	}

	// What the upstream gets: the raw target when it needs no normalization,
	// the normalized path re-encoded when it does.
	cases := []struct{ target, upstream string }{
		{"/public/cart?x=1", "/public/cart?x=1"},
		{"/public/a%2Fb", "/public/a%2Fb"},
		{"/public/caf%C3%A9?q=%2F..", "/public/caf%C3%A9?q=%2F.."},
		{"/public/x;jsessionid=1/y", "/public/x;jsessionid=1/y"},
		{"/public/.../..x/.hidden/x..", "/public/.../..x/.hidden/x.."},
		{"/public/a%20b", "/public/a%20b"},
		{"/public//x", "/public/x"},
		{"/public/./x/", "/public/x/"},
		{"/public/x/../y", "/public/y"},
		{"/public/%2e/x", "/public/x"},
		{"/public/.", "/public/"},
		{"/public/..;/admin/x", "/public/admin/x"},
		{`/public/..\admin\x`, "/public/admin/x"},
		{"/admin/..%2Fpublic/x", "/public/x"},
		{"/admin/x/..%2F..%2Fpublic/a%20b", "/public/a%20b"},
		{"http://app.test/public//x?y=1", "/public/x?y=1"},
		// The route's own path is sent with literal slashes, so that an
		// upstream splitting on them sees the route the gateway chose.
		{"/admin/docs%2Fx", "/admin/docs/x"},
		{"/admin/docs/a%2Fb", "/admin/docs/a%2Fb"},
		{"/admin/do%63s/x", "/admin/docs/x"},
	}
	for _, c := range cases {
		status, body := rawGet(t, addr, "app.test", c.target)
		if status != 200 {
			t.Errorf("%s: status %d (%s), want 200", c.target, status, body)
			continue
		}
		if got, _, _ := strings.Cut(body, "\n"); got != c.upstream {
			t.Errorf("%s: upstream got %q, want %q", c.target, got, c.upstream)
		}
	}
}

// TestAmbiguousPathIsRefused: with an open catch-all route "/", a request
// for "/admin;x/y" or "/admin\y" does not match the closed route /admin on
// the gateway's reading (";" and "\" are ordinary bytes there), but Tomcat
// ignores ";parameters" and IIS takes "\" as "/": both read /admin/y. A path
// that such a reading would route elsewhere is refused with 400; one it
// routes alike (a session id, a matrix parameter) goes through.
func TestAmbiguousPathIsRefused(t *testing.T) {
	up := startLenientUpstream(t)
	e := config.Edge{
		Services: []config.ServiceConfig{{Name: "app", Instances: []config.InstanceConfig{{Addr: up}}}},
		Routes: []config.RouteConfig{
			{Name: "admin", Path: "/admin", Match: config.MatchSegment, Service: "app", ACL: config.ACLConfig{Allow: []string{"192.0.2.1/32"}}},
			{Name: "site", Path: "/", Service: "app"},
		},
	}
	g := gatewaytest.Start(t, gateway.Options{Edge: e}, echoFunctions{})
	addr := g.Addr().String()
	for _, target := range []string{
		"/admin;x/y",
		"/admin;/y",
		"/admin;jsessionid=1",
		"/admin%3Bx/y",
		`/admin\y`,
		"/admin%5Cy",
		"/admin%5cy/..;/z",
	} {
		status, body := rawGet(t, addr, "app.test", target)
		if status != 400 || !strings.Contains(body, `"error"`) || !strings.Contains(body, "ambiguous") {
			t.Errorf("%s: status %d (%s), want 400 naming the ambiguous path", target, status, body)
		}
	}
	// Without a Host header fasthttp takes "//admin/x" for a host and a
	// path: the gateway routes "/x"; the upstream must get "/x" too.
	for target, want := range map[string]string{"//admin/x": "/x", "//admin/x;y?z": "/x;y?z"} {
		status, body := rawRequest(t, addr, "GET "+target+" HTTP/1.0\r\n\r\n")
		if got, _, _ := strings.Cut(body, "\n"); status != 200 || got != want {
			t.Errorf("%s without Host: status %d, upstream got %q, want 200 and %q", target, status, body, want)
		}
	}
	for _, c := range []struct{ target, upstream string }{
		{"/cart;jsessionid=1/x", "/cart;jsessionid=1/x"},
		{"/a;b=c/d%5Ce", "/a;b=c/d%5Ce"},
		{"/administrator;x", "/administrator;x"},
		{`/x\y`, `/x\y`},
		// Dot segments are dropped, not resolved, so these stay under "/".
		{"/x/..;/admin;/y", "/x/admin;/y"},
		{`/x\..\admin/y`, "/x/admin/y"},
	} {
		status, body := rawGet(t, addr, "app.test", c.target)
		if got, _, _ := strings.Cut(body, "\n"); status != 200 || got != c.upstream {
			t.Errorf("%s: status %d, upstream got %q, want 200 and %q", c.target, status, got, c.upstream)
		}
	}
}

// rawRequest writes req over a new TCP connection exactly as given and
// returns the status and body of the answer.
func rawRequest(t *testing.T, addr, req string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	var resp fasthttp.Response
	if err := resp.Read(bufio.NewReader(c)); err != nil {
		t.Fatalf("%q: %v", req, err)
	}
	return resp.StatusCode(), string(resp.Body())
}
