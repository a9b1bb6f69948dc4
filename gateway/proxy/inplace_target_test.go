package proxy

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// bodyHeadsUpstream records each request head, reads its Content-Length
// body, and answers "ok".
func bodyHeadsUpstream(t *testing.T) (string, chan rawHead) {
	t.Helper()
	addr, heads, _ := countedHeadsUpstream(t)
	return addr, heads
}

// TestInPlaceTargetMatchesCopy: a target with a fragment or an empty query
// is not forwarded in place, and the same GET target, once without a body
// and once with a one-byte body (always copied), reaches the upstream with
// the same request target (docs/gateway.md: "Either way the upstream
// receives the same request"). In place, "/public/x#/../../admin/secret"
// went up with its fragment.
func TestInPlaceTargetMatchesCopy(t *testing.T) {
	addr, heads := bodyHeadsUpstream(t)
	f := startInPlaceFront(t, NewTransport(Options{}).NewRoute(mustService(t, "shop", nil, addr), RouteConfig{}))
	for _, target := range []string{
		"/public/x#/../../admin/secret",
		"/public/x?a=1#frag",
		"/public/x?",
	} {
		head := "GET " + target + " HTTP/1.1\r\nHost: shop.example.com\r\n"
		resp, _ := roundTrip(t, f.addr, head+"\r\n")
		inPlaceUp, seen := <-heads, <-f.seen
		if resp.status() != 200 || seen.inPlace {
			t.Fatalf("%q: status %d, in place %v; want it copied (the pool drops what in place would send as is)", target, resp.status(), seen.inPlace)
		}
		resp, _ = roundTrip(t, f.addr, head+"Content-Length: 1\r\n\r\nx")
		copiedUp := <-heads
		<-f.seen
		if resp.status() != 200 {
			t.Fatalf("%q with a body: status %d", target, resp.status())
		}
		t.Logf("%q: router path %q; in place sent %q; copy sent %q", target, seen.path, inPlaceUp.first, copiedUp.first)
		if inPlaceUp.first != copiedUp.first {
			t.Errorf("%q: in place sent %q, the copy path sent %q", target, inPlaceUp.first, copiedUp.first)
		}
	}
}

// TestInPlaceLeavesTheClientURI: forwarding in place must leave the client's
// request as it was for the access log; the pool's HostClient sets
// DisablePathNormalizing on the client's URI, so its RequestURI changes.
func TestInPlaceLeavesTheClientURI(t *testing.T) {
	addr, heads := headsUpstream(t)
	r := NewTransport(Options{}).NewRoute(mustService(t, "shop", nil, addr), RouteConfig{})
	type seenURI struct {
		inPlace       bool
		before, after string
	}
	ch := make(chan seenURI, 1)
	front := serve(t, &fasthttp.Server{
		StreamRequestBody: true,
		Handler: func(ctx *fasthttp.RequestCtx) {
			inPlace := forwardInPlace(ctx, r.Config().Rewrite, false, false)
			before := string(ctx.URI().RequestURI())
			r.Serve(ctx, Input{RequestID: "rid-1"})
			ch <- seenURI{inPlace, before, string(ctx.URI().RequestURI())}
		},
	})
	resp, _ := roundTrip(t, front, "GET /p/a%2Fb/c%7e HTTP/1.1\r\nHost: shop.example.com\r\n\r\n")
	<-heads
	s := <-ch
	if resp.status() != 200 || !s.inPlace {
		t.Fatalf("status %d, in place %v", resp.status(), s.inPlace)
	}
	if s.before != s.after {
		t.Errorf("ctx.URI().RequestURI() was %q before Serve and %q after", s.before, s.after)
	}
}

// TestUnderscoreSpellingsOfDroppedHeaders: from an untrusted peer, the
// underscore spellings of client-address headers (which CGI/WSGI-style
// upstreams map to the same HTTP_X_REAL_IP / HTTP_X_FORWARDED_FOR variable)
// reach the upstream, in place and copied alike.
func TestUnderscoreSpellingsOfDroppedHeaders(t *testing.T) {
	addr, heads := bodyHeadsUpstream(t)
	f := startInPlaceFront(t, NewTransport(Options{}).NewRoute(mustService(t, "shop", nil, addr), RouteConfig{}))
	for _, body := range []string{"", "x"} {
		raw := "GET /x HTTP/1.1\r\nHost: shop.example.com\r\nX_Real_IP: 10.0.0.1\r\nX_Forwarded_For: 10.0.0.1\r\nX-Real-IP: 10.0.0.2\r\n"
		if body != "" {
			raw += "Content-Length: 1\r\n"
		}
		roundTrip(t, f.addr, raw+"\r\n"+body)
		up := <-heads
		<-f.seen
		for _, n := range []string{"X-Real-IP", "X_Real_IP", "X_Forwarded_For"} {
			if v := up.values(n); len(v) > 0 {
				t.Errorf("in place=%v: untrusted client's %s %q reached the upstream", body == "", n, v)
			}
		}
	}
}

// TestRawPathInPlaceMatchesCopy: the same on a pass_raw_path route.
func TestRawPathInPlaceMatchesCopy(t *testing.T) {
	addr, heads := bodyHeadsUpstream(t)
	f := startInPlaceFront(t, NewTransport(Options{}).NewRoute(mustService(t, "shop", nil, addr), RouteConfig{RawPath: true}))
	for _, target := range []string{
		"//evil.example/x?u=http://y",
		"/a#b",
	} {
		head := "GET " + target + " HTTP/1.1\r\nHost: shop.example.com\r\n"
		roundTrip(t, f.addr, head+"\r\n")
		inPlaceUp, seen := <-heads, <-f.seen
		roundTrip(t, f.addr, head+"Content-Length: 1\r\n\r\nx")
		copiedUp := <-heads
		<-f.seen
		t.Logf("%q: in place=%v sent %q Host %q; copy sent %q Host %q", target, seen.inPlace, inPlaceUp.first, inPlaceUp.get("Host"), copiedUp.first, copiedUp.get("Host"))
		if inPlaceUp.first != copiedUp.first {
			t.Errorf("%q: in place sent %q, the copy path sent %q", target, inPlaceUp.first, copiedUp.first)
		}
	}
}
