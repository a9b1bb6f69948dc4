package proxy

import (
	"bufio"
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
