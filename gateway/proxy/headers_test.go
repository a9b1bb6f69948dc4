package proxy

import (
	"bufio"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
)

// wireRequest is sent with a request target that needs normalizing (the
// proxy copies such a request into its own) and with one that goes up as it
// is (the client's request is forwarded in place): the headers come out the
// same.
const wireRequest = "GET %s HTTP/1.1\r\n" +
	"Host: shop.example.com\r\n" +
	"Connection: keep-alive, X-Hop-A\r\n" +
	"Connection: x-hop-b\r\n" +
	"X-Hop-A: 1\r\n" +
	"X-Hop-B: 2\r\n" +
	"Keep-Alive: 300\r\n" +
	"Proxy-Connection: keep-alive\r\n" +
	"Proxy-Authorization: Basic Zm9vOmJhcg==\r\n" +
	"TE: trailers\r\n" +
	"Trailer: X-Checksum\r\n" +
	"Upgrade: websocket\r\n" +
	"X-Forwarded-For: 203.0.113.9\r\n" +
	"X-Forwarded-Proto: https\r\n" +
	"X-Forwarded-Host: public.example\r\n" +
	"X-Request-Id: client-chosen\r\n" +
	"Forwarded: for=198.51.100.7\r\n" +
	"X-Keep: yes\r\n" +
	"X-Multi: 1\r\n" +
	"X-Multi: 2\r\n" +
	"Cookie: a=1; b=2\r\n" +
	"\r\n"

const wireResponse = "HTTP/1.1 201 Created\r\n" +
	"Content-Type: text/plain\r\n" +
	"Server: secret-upstream/1.0\r\n" +
	"Connection: keep-alive, X-Resp-Hop\r\n" +
	"Connection: x-resp-hop2\r\n" +
	"X-Resp-Hop: a\r\n" +
	"X-Resp-Hop2: b\r\n" +
	"Keep-Alive: timeout=5\r\n" +
	"Proxy-Authenticate: Basic realm=x\r\n" +
	"Proxy-Connection: keep-alive\r\n" +
	"Upgrade: h2c\r\n" +
	"TE: trailers\r\n" +
	"Trailer: X-Checksum\r\n" +
	"Set-Cookie: s=1; Path=/\r\n" +
	"Set-Cookie: t=2; Path=/\r\n" +
	"X-Request-Id: upstream-chosen\r\n" +
	"X-End: kept\r\n" +
	"Transfer-Encoding: chunked\r\n" +
	"\r\n" +
	"5\r\nhello\r\n0\r\nX-Checksum: 1\r\n\r\n"

var hopNames = []string{
	"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
	"TE", "Trailer", "Upgrade", "Expect",
}

// TestHeadersOnTheWire drives raw bytes through the proxy in both directions
// and checks what the upstream and the client actually receive.
func TestHeadersOnTheWire(t *testing.T) {
	heads := make(chan rawHead, 4)
	addr, _ := rawUpstream(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			h, err := readHead(br)
			if err != nil {
				return
			}
			heads <- h
			if _, err := c.Write([]byte(wireResponse)); err != nil {
				return
			}
		}
	})
	tr := NewTransport(Options{})
	f := startFront(t, tr.NewRoute(mustService(t, "shop", nil, addr), RouteConfig{}))

	targets := []struct{ sent, want string }{
		{"/p/a%2Fb/../c?q=1&r=%20", "/p/a/c?q=1&r=%20"},  // normalized: it held a ".." segment
		{"/p/a%2Fb/c?q=1&r=%20", "/p/a%2Fb/c?q=1&r=%20"}, // as sent: forwarded in place
	}
	for _, target := range targets {
		for _, trusted := range []bool{false, true} {
			checkWireExchange(t, f, heads, addr, fmt.Sprintf(wireRequest, target.sent), "GET "+target.want+" HTTP/1.1", trusted)
		}
	}
}

// checkWireExchange sends raw through f and checks what the upstream (its
// heads) and the client got.
func checkWireExchange(t *testing.T, f *front, heads chan rawHead, addr, raw, wantLine string, trusted bool) {
	t.Helper()
	{
		f.trusted.Store(trusted)
		resp, body := roundTrip(t, f.addr, raw)
		up := <-heads

		// What the upstream got.
		if up.first != wantLine {
			t.Errorf("trusted=%v: request line %q, want %q", trusted, up.first, wantLine)
		}
		for _, n := range append(slices.Clone(hopNames), "X-Hop-A", "X-Hop-B", "Transfer-Encoding", "User-Agent") {
			if v := up.values(n); len(v) > 0 {
				t.Errorf("trusted=%v: upstream got hop-by-hop %s: %q", trusted, n, v)
			}
		}
		if h := up.values("Host"); len(h) != 1 || h[0] != "shop.example.com" {
			t.Errorf("Host %q, want the client's", h)
		}
		wantXFF, wantProto, wantHost := "127.0.0.1", "http", "shop.example.com"
		if trusted {
			wantXFF, wantProto, wantHost = "203.0.113.9, 127.0.0.1", "https", "public.example"
		}
		check := func(name, want string) {
			t.Helper()
			if v := up.values(name); len(v) != 1 || v[0] != want {
				t.Errorf("trusted=%v: upstream %s = %q, want %q", trusted, name, v, want)
			}
		}
		check("X-Forwarded-For", wantXFF)
		check("X-Forwarded-Proto", wantProto)
		check("X-Forwarded-Host", wantHost)
		check("X-Request-Id", "rid-1")
		check("X-Keep", "yes")
		check("Cookie", "a=1; b=2")
		if v := up.values("X-Multi"); !slices.Equal(v, []string{"1", "2"}) {
			t.Errorf("X-Multi %q, want both in order", v)
		}
		if v := up.values("Forwarded"); trusted != (len(v) == 1) {
			t.Errorf("trusted=%v: Forwarded %q", trusted, v)
		}

		// What the client got.
		if resp.status() != 201 || string(body) != "hello" {
			t.Fatalf("client got %d %q", resp.status(), body)
		}
		for _, n := range append(slices.Clone(hopNames), "X-Resp-Hop", "X-Resp-Hop2", "X-Checksum") {
			if v := resp.values(n); len(v) > 0 {
				t.Errorf("client got hop-by-hop %s: %q", n, v)
			}
		}
		if v := resp.values("Transfer-Encoding"); len(v) != 1 || v[0] != "chunked" {
			t.Errorf("Transfer-Encoding %q, want fasthttp's own framing once", v)
		}
		if v := resp.values("Set-Cookie"); len(v) != 2 {
			t.Errorf("Set-Cookie %q, want both", v)
		}
		if v := resp.values("X-Request-Id"); !slices.Equal(v, []string{"rid-1"}) {
			t.Errorf("X-Request-Id %q, want the gateway's only", v)
		}
		if v := resp.get("Server"); strings.Contains(v, "secret") {
			t.Errorf("upstream Server leaked: %q", v)
		}
		if resp.get("X-End") != "kept" || resp.get("Content-Type") != "text/plain" {
			t.Errorf("end-to-end headers lost: %v", resp.headers)
		}
		if out := f.last(t); out.Class != ClassNone || out.Status != 201 || out.Addr != addr || out.Attempts != 1 || !out.Streamed {
			t.Errorf("outcome %+v", out)
		}
	}
}

func TestNoInventedContentType(t *testing.T) {
	addr, _ := rawUpstream(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := readHead(br); err != nil {
			return
		}
		_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	})
	tr := NewTransport(Options{})
	f := startFront(t, tr.NewRoute(mustService(t, "shop", nil, addr), RouteConfig{}))
	resp, body := roundTrip(t, f.addr, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	if string(body) != "ok" || resp.get("Content-Type") != "" {
		t.Fatalf("body %q content type %q", body, resp.get("Content-Type"))
	}
	if out := f.last(t); out.Streamed {
		t.Fatalf("small body streamed: %+v", out)
	}
}

func TestHeadKeepsContentLength(t *testing.T) {
	addr, _ := rawUpstream(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := readHead(br); err != nil {
			return
		}
		_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1234\r\n\r\n"))
	})
	tr := NewTransport(Options{})
	f := startFront(t, tr.NewRoute(mustService(t, "shop", nil, addr), RouteConfig{}))
	resp, _ := roundTrip(t, f.addr, "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n")
	if resp.status() != 200 || resp.get("Content-Length") != "1234" {
		t.Fatalf("HEAD answer %d %v", resp.status(), resp.headers)
	}
}

func TestConnectionTokens(t *testing.T) {
	cases := map[string][]string{
		"":                       nil,
		"close":                  {"close"},
		" keep-alive ,X-A,, \t ": {"keep-alive", "X-A"},
		",,,":                    nil,
		"a,b\t,\tc":              {"a", "b", "c"},
	}
	for in, want := range cases {
		var got []string
		for _, tok := range appendConnectionTokens(nil, []byte(in)) {
			got = append(got, string(tok))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
	if !hopByHop([]byte("proxy-AUTHORIZATION")) || hopByHop([]byte("X-Forwarded-For")) || !hopByHop([]byte("te")) {
		t.Fatal("hopByHop")
	}
	// '_' and '-' are alike in header names (CGI-style upstreams read both as '_').
	if !eqFold([]byte("a_b"), "A-B") || !eqFold([]byte("Keep-ALIVE"), "keep-alive") || eqFold([]byte("@"), "`") || eqFold([]byte("a.b"), "a-b") {
		t.Fatal("eqFold")
	}
}

func TestAbsoluteFormURI(t *testing.T) {
	heads := make(chan rawHead, 1)
	addr, _ := rawUpstream(t, func(c net.Conn) {
		h, err := readHead(bufio.NewReader(c))
		if err != nil {
			return
		}
		heads <- h
		_, _ = c.Write([]byte("HTTP/1.1 204 No Content\r\n\r\n"))
	})
	tr := NewTransport(Options{})
	svc := mustService(t, "shop", nil, addr)
	for _, c := range []struct {
		cfg  RouteConfig
		want string
	}{
		{RouteConfig{}, "GET /y?z=1 HTTP/1.1"},
		{RouteConfig{RawPath: true}, "GET /x/%2e%2e/y?z=1 HTTP/1.1"},
	} {
		f := startFront(t, tr.NewRoute(svc, c.cfg))
		resp, _ := roundTrip(t, f.addr, "GET https://other.example/x/%2e%2e/y?z=1 HTTP/1.1\r\nHost: shop.example.com\r\n\r\n")
		if resp.status() != 204 {
			t.Fatalf("status %d", resp.status())
		}
		up := <-heads
		if up.first != c.want || up.get("Host") != "other.example" || up.get("X-Forwarded-Host") != "other.example" {
			t.Fatalf("RawPath %v: upstream got %q, Host %q, X-Forwarded-Host %q; want %q", c.cfg.RawPath, up.first, up.get("Host"), up.get("X-Forwarded-Host"), c.want)
		}
	}
}
