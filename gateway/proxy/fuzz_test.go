package proxy

import (
	"bufio"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway/route"
)

func FuzzConnectionTokens(f *testing.F) {
	for _, s := range []string{"", "close", "keep-alive, X-A", " ,a,,b\t,", "\t", "a b, c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		var got []string
		for _, tok := range appendConnectionTokens(nil, []byte(v)) {
			got = append(got, string(tok))
		}
		var want []string
		for _, part := range strings.Split(v, ",") {
			if part = strings.Trim(part, " \t"); part != "" {
				want = append(want, part)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%q: tokens %q, want %q", v, got, want)
		}
		for _, tok := range got {
			_ = hopByHop([]byte(tok))
		}
	})
}

// FuzzCopyRequestHeaders feeds arbitrary header blocks through fasthttp's
// parser and the proxy's header copy: no hop-by-hop header and no header
// named in Connection may reach the upstream request, and nothing panics.
func FuzzCopyRequestHeaders(f *testing.F) {
	f.Add("Connection: keep-alive, X-A\r\nX-A: 1\r\nX-B: 2")
	f.Add("Connection: close\r\nConnection: X-Forwarded-For\r\nX-Forwarded-For: 1.2.3.4")
	f.Add("Transfer-Encoding: chunked\r\nTE: trailers\r\nTrailer: X-T\r\nUpgrade: h2c")
	f.Add("Cookie: a=1\r\nCookie: b=2\r\nconnection: cookie")
	f.Fuzz(func(t *testing.T, headers string) {
		var req fasthttp.Request
		raw := "GET /x HTTP/1.1\r\nHost: h\r\n" + headers + "\r\n\r\n"
		if err := req.Header.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
			return
		}
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, nil, nil)
		tokens := requestConnectionTokens(nil, &ctx.Request.Header)
		var c call
		var dst fasthttp.Request
		c.copyRequestHeaders(&ctx, &dst.Header, &Input{RequestID: "rid"}, nil)
		for k := range dst.Header.All() {
			if hopByHop(k) {
				t.Fatalf("hop-by-hop %q forwarded from %q", k, headers)
			}
			ours := eqFold(k, HeaderXForwardedFor) || eqFold(k, HeaderXForwardedProto) ||
				eqFold(k, HeaderXForwardedHost) || eqFold(k, HeaderRequestID) || eqFold(k, "Host")
			if !ours && named(tokens, k) {
				t.Fatalf("%q named in Connection forwarded from %q", k, headers)
			}
		}
	})
}

// FuzzUpstreamTarget feeds arbitrary request targets, with and without a
// Host header, through fasthttp's parser and the proxy's request line: on a
// route that keeps its path, the upstream's path is safe (route.SafePath)
// and a lenient upstream reads it as the gateway's ambiguity check read the
// routed path.
func FuzzUpstreamTarget(f *testing.F) {
	for _, s := range []string{"/a%2Fb?x=1", "//admin/x", "/p/..;/admin", "/p/..%5Cadmin", "http://h//x/../y", "/x#/../y", "*"} {
		f.Add(s, true)
	}
	rw := route.Keep("/")
	f.Fuzz(func(t *testing.T, target string, host bool) {
		var req fasthttp.Request
		head := "GET " + target + " HTTP/1.1\r\n"
		if host {
			head += "Host: h\r\n"
		}
		if err := req.Header.Read(bufio.NewReader(strings.NewReader(head + "\r\n"))); err != nil {
			return
		}
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, nil, nil)
		var c call
		var dst fasthttp.Request
		c.copyRequestHeaders(&ctx, &dst.Header, &Input{}, rw)
		uri := string(dst.Header.RequestURI())
		if uri == "*" {
			return
		}
		path, _, _ := strings.Cut(uri, "?")
		path, _, _ = strings.Cut(path, "#")
		if !route.SafePath([]byte(path)) {
			t.Fatalf("%q (host %v) went up as unsafe %q", target, host, uri)
		}
		var dec []byte
		for i := 0; i < len(path); i++ {
			if path[i] == '%' && i+2 < len(path) {
				if v, err := strconv.ParseUint(path[i+1:i+3], 16, 8); err == nil {
					dec = append(dec, byte(v))
					i += 2
					continue
				}
			}
			dec = append(dec, path[i])
		}
		if got, want := route.AppendLenient(nil, dec), route.AppendLenient(nil, ctx.Path()); string(got) != string(want) {
			t.Fatalf("%q (host %v) went up as %q, read as %q by a lenient upstream and %q by the gateway", target, host, uri, got, want)
		}
	})
}

// FuzzInPlaceMatchesCopy feeds arbitrary requests through fasthttp's parser
// and both ways of building the upstream request: whenever the request may
// be forwarded in place, the upstream gets the same request line and
// headers as from the copy (see sameHeaderLines), and the client's request
// is left as it was.
func FuzzInPlaceMatchesCopy(f *testing.F) {
	f.Add("GET", "/x?a=1", "HTTP/1.1", "X-A: 1\r\nX-B: 2\r\nX-A: 3", false)
	f.Add("DELETE", "/x", "HTTP/1.0", "X-Forwarded-For: 1.2.3.4\r\nX-Request-Id: rid", true)
	f.Add("HEAD", "/a%2Fb", "HTTP/1.1", "X-Forwarded-Host: h2\r\nX-Forwarded-Proto: HTTPS\r\nCookie: a=1\r\nCookie: b=2", true)
	f.Add("GET", "/", "HTTP/1.1", "Connection: close\r\nX-Real-IP: 1.1.1.1\r\nForwarded: for=x", true)
	f.Add("GET", "/", "HTTP/1.1", "Connection: keep-alive, X-A\r\nX-A: 1\r\nX-B: 2\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2", false)
	f.Add("PUT", "/", "HTTP/1.1", "Trailer: X-T\r\nTE: trailers\r\nExpect: 100-continue\r\nConnection: cookie\r\nCookie: a=1", true)
	f.Add("OPTIONS", "/x", "HTTP/1.1", "User-Agent: u\r\nContent-Type: t\r\nX-Forwarded-Prefix: /p", false)
	// A fragment, an empty query, a target whose path fasthttp reads a host
	// from: the copy path's pool rebuilds the target from the URI (no
	// fragment, no lone '?'), so in place must not take them as sent.
	f.Add("GET", "/public/x#/../../admin/secret", "HTTP/1.1", "X-A: 1", false)
	f.Add("GET", "/public/x?a=1#frag", "HTTP/1.1", "", false)
	f.Add("GET", "/x?", "HTTP/1.1", "", false)
	f.Add("GET", "//a/b?c=http://d", "HTTP/1.1", "", false)
	f.Add("GET", "/a%2F%2e%2e/b;c?d?e", "HTTP/1.0", "", true)
	f.Add("GET", "/x", "HTTP/1.1", "X_Real_IP: 1.1.1.1\r\nX_Forwarded_For: 2.2.2.2\r\nTransfer_Encoding: chunked", false)
	rw := route.Keep("/")
	f.Fuzz(func(t *testing.T, method, target, proto, headers string, trusted bool) {
		raw := method + " " + target + " " + proto + "\r\nHost: Some.Host\r\n" + headers + "\r\n\r\n"
		parse := func() *fasthttp.RequestCtx {
			var req fasthttp.Request
			if err := req.Header.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
				return nil
			}
			ctx := new(fasthttp.RequestCtx)
			ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 4000}, nil)
			return ctx
		}
		copied, inPlace := parse(), parse()
		if copied == nil {
			return
		}
		if cl := copied.Request.Header.ContentLength(); cl > 0 || cl == -1 {
			return // a body: always copied
		}
		in := Input{RequestID: "rid", TrustedPeer: trusted}
		var c call
		var dst fasthttp.Request
		c.copyRequestHeaders(copied, &dst.Header, &in, rw)
		dst.UseHostHeader = true
		// As HostClient.doNonNilReqResp does before it writes the request:
		// the target is rebuilt from the URI.
		dst.URI().DisablePathNormalizing = true
		var want strings.Builder
		bw := bufio.NewWriter(&want)
		if err := dst.Write(bw); err != nil {
			return
		}
		_ = bw.Flush()

		if !forwardInPlace(inPlace, rw, false, false) {
			return
		}
		for range inPlace.Request.Header.All() {
			// Collects the cookies into one Cookie header, as any reader does.
		}
		before := inPlace.Request.Header.String()
		var d call
		d.prepareInPlace(inPlace, &in, "10.0.0.1:80")
		var got strings.Builder
		bw = bufio.NewWriter(&got)
		if err := d.writeInPlace(bw, &inPlace.Request.Header); err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		if err := bw.Flush(); err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		d.restoreInPlace(inPlace)
		if !sameHeaderLines(got.String(), want.String()) {
			t.Fatalf("%q went up in place as\n%q\nand copied as\n%q", raw, got.String(), want.String())
		}
		if after := inPlace.Request.Header.String(); after != before {
			t.Fatalf("%q: forwarding in place changed the client's request from\n%q\nto\n%q", raw, before, after)
		}
	})
}

// sameHeaderLines reports whether two request heads have the same request
// line and header lines: the same multiset, and the headers fasthttp keeps
// in its general list in the same order (the special ones — Host,
// User-Agent, Content-Type, Content-Length, Cookie — and the proxy's own
// are placed differently by the two writers).
func sameHeaderLines(a, b string) bool {
	split := func(s string) (first string, own, rest []string) {
		lines := strings.Split(strings.TrimSuffix(s, "\r\n\r\n"), "\r\n")
		for _, l := range lines[1:] {
			k, _, _ := strings.Cut(l, ":")
			switch strings.ToLower(k) {
			case "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-request-id",
				"host", "user-agent", "content-type", "content-length", "cookie":
				own = append(own, l)
			default:
				rest = append(rest, l)
			}
		}
		slices.Sort(own)
		return lines[0], own, rest
	}
	fa, oa, ra := split(a)
	fb, ob, rb := split(b)
	return fa == fb && slices.Equal(oa, ob) && slices.Equal(ra, rb)
}
