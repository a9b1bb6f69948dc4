package proxy

import (
	"bufio"
	"slices"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
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
