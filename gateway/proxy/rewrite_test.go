package proxy

import (
	"bufio"
	"net"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway/route"
)

// headUpstream is a raw upstream that answers 204 to every request and hands
// each request head it read to the test.
func headUpstream(t *testing.T) (string, <-chan rawHead) {
	t.Helper()
	heads := make(chan rawHead, 16)
	addr, _ := rawUpstream(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			h, err := readHead(br)
			if err != nil {
				return
			}
			heads <- h
			if _, err := c.Write([]byte("HTTP/1.1 204 No Content\r\n\r\n")); err != nil {
				return
			}
		}
	})
	return addr, heads
}

func mustRewrite(t testing.TB, from, to string) *route.Rewrite {
	t.Helper()
	rw, err := route.NewRewrite(from, to)
	if err != nil {
		t.Fatal(err)
	}
	return rw
}

// TestRewriteRequestTarget: the upstream request line carries the rewritten
// path and the client's query, whatever form the client's request target
// had; X-Forwarded-Prefix names the prefix the upstream does not see.
func TestRewriteRequestTarget(t *testing.T) {
	addr, heads := headUpstream(t)
	tr := NewTransport(Options{})
	t.Cleanup(tr.Close)
	svc := mustService(t, "shop", nil, addr)
	strip := startFront(t, tr.NewRoute(svc, RouteConfig{Rewrite: mustRewrite(t, "/shop", "/")}))
	moved := startFront(t, tr.NewRoute(svc, RouteConfig{Rewrite: mustRewrite(t, "/shop/", "/new/")}))
	cases := []struct {
		f          *front
		target     string
		want, pref string
	}{
		{strip, "/shop/cart?x=1", "/cart?x=1", "/shop"},
		{strip, "/shop", "/", "/shop"},
		{strip, "/shop?x=%2F", "/?x=%2F", "/shop"},
		{strip, "/shop/a%2Fb?q", "/a%2Fb?q", "/shop"},
		{strip, "/shop//a/./b/../c", "/a/c", "/shop"},
		{strip, "http://shop.example.com/shop/cart?x=1", "/cart?x=1", "/shop"},
		{moved, "/shop/cart?x=1&y=%20", "/new/cart?x=1&y=%20", "/shop"},
		{moved, "/shop/", "/new/", "/shop"},
		{moved, "/shop/caf%C3%A9", "/new/caf%C3%A9", "/shop"},
	}
	for _, c := range cases {
		h, _ := roundTrip(t, c.f.addr, "GET "+c.target+" HTTP/1.1\r\nHost: shop.example.com\r\nX-Forwarded-Prefix: /evil\r\n\r\n")
		if h.status() != 204 {
			t.Fatalf("%s: status %d", c.target, h.status())
		}
		up := <-heads
		if got := strings.Fields(up.first); len(got) != 3 || got[1] != c.want {
			t.Errorf("%s: upstream got %q, want target %q", c.target, up.first, c.want)
		}
		if got := up.values("X-Forwarded-Prefix"); len(got) != 1 || got[0] != c.pref {
			t.Errorf("%s: X-Forwarded-Prefix %q, want %q", c.target, got, c.pref)
		}
	}
}

// TestForwardedPrefixFromPeers: a client's X-Forwarded-Prefix reaches no
// upstream unless it comes from a trusted proxy; a trusted proxy's prefix
// is kept, before the one the route strips.
func TestForwardedPrefixFromPeers(t *testing.T) {
	addr, heads := headUpstream(t)
	tr := NewTransport(Options{})
	t.Cleanup(tr.Close)
	svc := mustService(t, "shop", nil, addr)
	plain := startFront(t, tr.NewRoute(svc, RouteConfig{}))
	strip := startFront(t, tr.NewRoute(svc, RouteConfig{Rewrite: mustRewrite(t, "/shop/", "/")}))
	root := startFront(t, tr.NewRoute(svc, RouteConfig{Rewrite: mustRewrite(t, "/", "/v1/")}))
	send := func(f *front, trusted bool, prefixes ...string) []string {
		t.Helper()
		f.trusted.Store(trusted)
		req := "GET /shop/x HTTP/1.1\r\nHost: shop.example.com\r\n"
		for _, p := range prefixes {
			req += "x-forwarded-prefix: " + p + "\r\n"
		}
		if h, _ := roundTrip(t, f.addr, req+"\r\n"); h.status() != 204 {
			t.Fatalf("status %d", h.status())
		}
		return (<-heads).values("X-Forwarded-Prefix")
	}
	cases := []struct {
		name string
		got  []string
		want string
	}{
		{"untrusted, no rewrite", send(plain, false, "/evil"), ""},
		{"trusted, no rewrite", send(plain, true, "/edge"), "/edge"},
		{"untrusted, strip", send(strip, false, "/evil", "/evil2"), "/shop"},
		{"trusted, strip", send(strip, true, "/edge/"), "/edge/shop"},
		{"trusted twice, strip", send(strip, true, "/edge", "/other"), "/edge/shop"},
		{"route /", send(root, false, "/evil"), ""},
		{"trusted, route /", send(root, true, "/edge"), "/edge"},
	}
	for _, c := range cases {
		if strings.Join(c.got, "|") != c.want {
			t.Errorf("%s: X-Forwarded-Prefix %q, want %q", c.name, c.got, c.want)
		}
	}
}

// TestRewriteAddsNoAllocations: building the upstream request head of a
// rewritten request, or of a kept one whose path is normalized, allocates
// nothing once the call's buffers are warm, as for one that is not
// rewritten (measured on the head alone: Serve's pools
// drop items at random under the race detector).
func TestRewriteAddsNoAllocations(t *testing.T) {
	in := Input{RequestID: "rid", TrustedPeer: true}
	measure := func(rw *route.Rewrite, target string) float64 {
		ctx := benchCtx(fasthttp.MethodGet, nil)
		ctx.Request.SetRequestURI(target)
		ctx.Request.Header.Set(HeaderXForwardedPrefix, "/edge")
		var c call
		var dst fasthttp.Request
		head := func() {
			dst.Header.Reset()
			c.copyRequestHeaders(ctx, &dst.Header, &in, rw)
		}
		head() // warm the buffers
		return testing.AllocsPerRun(100, head)
	}
	plain := measure(nil, "/api/items?page=2")
	rewritten := measure(mustRewrite(t, "/api/", "/v2/"), "/api/items?page=2")
	rebuilt := measure(mustRewrite(t, "/api/", "/v2/"), "/api//items/./x%20y?page=2")
	kept := measure(route.Keep("/api/"), "/api/items?page=2")
	normalized := measure(route.Keep("/api/"), "/api//items/..;/x%20y?page=2")
	if plain != 0 || rewritten != 0 || rebuilt != 0 || kept != 0 || normalized != 0 {
		t.Fatalf("allocations per request head: plain %v, rewritten %v, rewritten from an unnormalized path %v, kept %v, kept from an unnormalized path %v",
			plain, rewritten, rebuilt, kept, normalized)
	}
}
