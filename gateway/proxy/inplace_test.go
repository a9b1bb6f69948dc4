package proxy

import (
	"bufio"
	"io"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway/route"
)

// inPlaceFront is a gateway-like server on one route that reports, per
// request, whether the client's request is one to forward in place and what
// it looked like after Serve: the protocol, the connection choice, the path
// the access log reads and the client's headers.
type inPlaceFront struct {
	addr string
	seen chan inPlaceSeen
}

type inPlaceSeen struct {
	inPlace   bool
	http11    bool
	connClose bool
	path      string
	headers   string
}

func startInPlaceFront(t *testing.T, r *Route) *inPlaceFront {
	t.Helper()
	f := &inPlaceFront{seen: make(chan inPlaceSeen, 16)}
	f.addr = serve(t, &fasthttp.Server{
		StreamRequestBody: true,
		Handler: func(ctx *fasthttp.RequestCtx) {
			inPlace := forwardInPlace(ctx, r.Config().Rewrite, false, false)
			r.Serve(ctx, Input{RequestID: "rid-1"})
			f.seen <- inPlaceSeen{
				inPlace:   inPlace,
				http11:    ctx.Request.Header.IsHTTP11(),
				connClose: ctx.Request.Header.ConnectionClose(),
				path:      string(ctx.Path()),
				headers:   ctx.Request.Header.String(),
			}
		},
	})
	return f
}

// headsUpstream answers every request "ok" and hands its head to heads.
func headsUpstream(t *testing.T) (string, chan rawHead) {
	t.Helper()
	addr, heads, _ := countedHeadsUpstream(t)
	return addr, heads
}

// countedHeadsUpstream is headsUpstream that also reads each request's
// Content-Length body and counts the connections it accepted.
func countedHeadsUpstream(t *testing.T) (string, chan rawHead, *atomic.Int64) {
	t.Helper()
	heads := make(chan rawHead, 16)
	addr, accepted := rawUpstream(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			h, err := readHead(br)
			if err != nil {
				return
			}
			if _, err := readBody(br, h); err != nil {
				return
			}
			heads <- h
			if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); err != nil {
				return
			}
		}
	})
	return addr, heads, accepted
}

// TestInPlaceHeaders: a request with nothing to drop goes up as the
// client's own, with the same headers a copied one gets: the client's in
// their order, the Host lowercased, X-Forwarded-* and X-Request-Id replaced
// where the client sent them.
func TestInPlaceHeaders(t *testing.T) {
	addr, heads := headsUpstream(t)
	f := startInPlaceFront(t, NewTransport(Options{}).NewRoute(mustService(t, "shop", nil, addr), RouteConfig{}))
	raw := "DELETE /p/a%2Fb/c?q=1&r=%20 HTTP/1.1\r\n" +
		"Host: Shop.Example.COM\r\n" +
		"X-Multi: 1\r\n" +
		"X-Forwarded-For: 203.0.113.9\r\n" +
		"X-Keep: yes\r\n" +
		"X-Request-Id: client-chosen\r\n" +
		"X-Forwarded-Host: public.example\r\n" +
		"X-Multi: 2\r\n" +
		"X-Forwarded-Proto: https\r\n" +
		"Cookie: a=1; b=2\r\n" +
		"\r\n"
	resp, body := roundTrip(t, f.addr, raw)
	up := <-heads
	seen := <-f.seen
	if resp.status() != 200 || string(body) != "ok" {
		t.Fatalf("client got %d %q", resp.status(), body)
	}
	if !seen.inPlace {
		t.Fatal("the request was copied; want it forwarded in place")
	}
	if want := "DELETE /p/a%2Fb/c?q=1&r=%20 HTTP/1.1"; up.first != want {
		t.Errorf("request line %q, want %q", up.first, want)
	}
	for name, want := range map[string]string{
		"Host":              "shop.example.com",
		"X-Forwarded-For":   "127.0.0.1",
		"X-Forwarded-Proto": "http",
		"X-Forwarded-Host":  "shop.example.com",
		"X-Request-Id":      "rid-1",
		"X-Keep":            "yes",
		"Cookie":            "a=1; b=2",
		"Content-Length":    "0",
	} {
		if v := up.values(name); len(v) != 1 || v[0] != want {
			t.Errorf("upstream %s = %q, want %q", name, v, want)
		}
	}
	if v := up.values("X-Multi"); !slices.Equal(v, []string{"1", "2"}) {
		t.Errorf("X-Multi %q, want both in order", v)
	}
	if seen.path != "/p/a%2Fb/c" && seen.path != "/p/a/b/c" {
		t.Errorf("path after Serve %q", seen.path)
	}
}

// TestInPlaceDropsHeaders: forwarded in place, a request's hop-by-hop
// headers, those named by Connection, client-IP headers from an untrusted
// peer and the client's own X-Forwarded-For (however many) do not reach the
// upstream, while the client's request, as the gateway reads it afterwards,
// keeps them.
func TestInPlaceDropsHeaders(t *testing.T) {
	addr, heads := headsUpstream(t)
	f := startInPlaceFront(t, NewTransport(Options{}).NewRoute(mustService(t, "shop", nil, addr), RouteConfig{}))
	for _, tc := range []struct{ extra, absent string }{
		{"Connection: keep-alive\r\n", "Connection"},
		{"Connection: X-Secret\r\nX-Secret: 1\r\n", "X-Secret"},
		{"X-Real-IP: 198.51.100.7\r\n", "X-Real-IP"},
		{"Keep-Alive: 300\r\nTE: trailers\r\n", "Keep-Alive"},
		{"X-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2\r\n", ""},
	} {
		resp, _ := roundTrip(t, f.addr, "GET /x HTTP/1.1\r\nHost: shop.example.com\r\nX-Keep: 1\r\n"+tc.extra+"X-Keep: 2\r\n\r\n")
		up, seen := <-heads, <-f.seen
		if resp.status() != 200 {
			t.Fatalf("%q: status %d", tc.extra, resp.status())
		}
		if !seen.inPlace {
			t.Errorf("%q: copied; want in place", tc.extra)
		}
		if tc.absent != "" {
			if len(up.values(tc.absent)) > 0 {
				t.Errorf("%q: upstream got %s", tc.extra, tc.absent)
			}
			if !strings.Contains(strings.ToLower(seen.headers), strings.ToLower(tc.absent)+":") {
				t.Errorf("%q: the client's request lost %s: %q", tc.extra, tc.absent, seen.headers)
			}
		}
		if v := up.values("X-Forwarded-For"); !slices.Equal(v, []string{"127.0.0.1"}) {
			t.Errorf("%q: X-Forwarded-For %q, want the peer only", tc.extra, v)
		}
		if v := up.values("X-Keep"); !slices.Equal(v, []string{"1", "2"}) {
			t.Errorf("%q: X-Keep %q, want both in order", tc.extra, v)
		}
	}
}

// TestForwardInPlaceChoice: only a bodiless, unpipelined request whose
// target goes up unchanged is forwarded in place.
func TestForwardInPlaceChoice(t *testing.T) {
	keep, rewrite := route.Keep("/"), mustRewrite(t, "/api/", "/v2/")
	for _, tc := range []struct {
		target          string
		rw              *route.Rewrite
		body, pipelined bool
		want            bool
	}{
		{"/api/x?q=1", keep, false, false, true},
		{"/api/x?q=1", nil, false, false, true},
		{"/api/x", keep, true, false, false},
		{"/api/x", keep, false, true, false},
		{"/api/x", rewrite, false, false, false},
		{"/api/../x", keep, false, false, false},
		{"http://shop.example.com/api/x", keep, false, false, false},
		{"*", keep, false, false, false},
	} {
		var req fasthttp.Request
		raw := "GET " + tc.target + " HTTP/1.1\r\nHost: shop.example.com\r\n\r\n"
		if err := req.Header.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
			t.Fatal(err)
		}
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, nil, nil)
		if got := forwardInPlace(&ctx, tc.rw, tc.body, tc.pipelined); got != tc.want {
			t.Errorf("%+v: in place %v, want %v", tc, got, tc.want)
		}
	}
}

// TestInPlaceKeepsClientConnection: forwarded in place, an HTTP/1.0
// request, or one with "Connection: close", goes up as HTTP/1.1 on a
// kept-alive upstream connection, while the client's connection is closed
// after the answer, or kept alive, as the client asked; afterwards the
// request reads as the client sent it. An HTTP/1.0 request without Host
// gets the instance address.
func TestInPlaceKeepsClientConnection(t *testing.T) {
	addr, heads, accepted := countedHeadsUpstream(t)
	f := startInPlaceFront(t, NewTransport(Options{}).NewRoute(mustService(t, "shop", nil, addr), RouteConfig{}))
	for _, tc := range []struct {
		raw, host string
		http11    bool
		connClose bool
	}{
		{"GET /a HTTP/1.0\r\nHost: shop.example.com\r\n\r\n", "shop.example.com", false, true},
		{"GET /a HTTP/1.0\r\n\r\n", addr, false, true},
		{"GET /a HTTP/1.1\r\nHost: shop.example.com\r\nConnection: close\r\n\r\n", "shop.example.com", true, true},
		{"GET /a HTTP/1.0\r\nHost: shop.example.com\r\nConnection: keep-alive\r\n\r\n", "shop.example.com", false, false},
	} {
		c, err := net.Dial("tcp", f.addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, tc.raw); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		resp, err := readHead(br)
		if err != nil {
			t.Fatal(err)
		}
		body, err := readBody(br, resp)
		if err != nil || string(body) != "ok" {
			t.Fatalf("%q: body %q, %v", tc.raw, body, err)
		}
		up, seen := <-heads, <-f.seen
		if tc.connClose {
			// The client's connection is closed after the answer.
			if n, err := br.ReadByte(); err == nil {
				t.Errorf("%q: connection left open (read %q)", tc.raw, n)
			}
		} else {
			// An HTTP/1.0 client that asked for keep-alive gets it, and
			// the connection carries another request.
			if v := resp.get("Connection"); !strings.EqualFold(v, "keep-alive") {
				t.Errorf("%q: answered with Connection %q, want keep-alive", tc.raw, v)
			}
			if again, _ := roundTripOn(t, c, br, tc.raw); again.status() != 200 {
				t.Errorf("%q: second request on the connection: %d", tc.raw, again.status())
			}
			<-heads
			<-f.seen
		}
		c.Close()
		if !seen.inPlace {
			t.Errorf("%q: copied; want in place", tc.raw)
		}
		if !strings.HasSuffix(up.first, " HTTP/1.1") || len(up.values("Connection")) > 0 {
			t.Errorf("%q: upstream got %q, Connection %q; want HTTP/1.1 kept alive", tc.raw, up.first, up.values("Connection"))
		}
		if v := up.values("Host"); len(v) != 1 || v[0] != tc.host {
			t.Errorf("%q: upstream Host %q, want %q", tc.raw, v, tc.host)
		}
		if seen.http11 != tc.http11 || seen.connClose != tc.connClose {
			t.Errorf("%q: after Serve HTTP/1.1=%v close=%v, want the client's %v %v", tc.raw, seen.http11, seen.connClose, tc.http11, tc.connClose)
		}
	}
	if n := accepted.Load(); n != 1 {
		t.Errorf("the upstream accepted %d connections; want 1, kept alive for every request", n)
	}
}

// roundTripOn sends raw on c and reads one response from br.
func roundTripOn(t *testing.T, c net.Conn, br *bufio.Reader, raw string) (rawHead, []byte) {
	t.Helper()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	h, err := readHead(br)
	if err != nil {
		t.Fatal(err)
	}
	body, err := readBody(br, h)
	if err != nil {
		t.Fatal(err)
	}
	return h, body
}
