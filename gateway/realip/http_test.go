package realip

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// TestOverHTTP runs a real fasthttp server on loopback and sends raw requests
// with several X-Forwarded-For header instances.
func TestOverHTTP(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	trusted := mustNew(t, Options{TrustedProxies: prefixes("127.0.0.0/8", "10.0.0.0/8")})
	untrusted := mustNew(t, Options{TrustedProxies: prefixes("10.0.0.0/8")})
	fwd := mustNew(t, Options{TrustedProxies: prefixes("127.0.0.0/8"), UseForwarded: true})
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		peer := PeerAddr(ctx.RemoteAddr())
		a := trusted.ClientIP(peer, ctx.Request.Header.PeekAll("X-Forwarded-For"))
		b := untrusted.FromRequestCtx(ctx)
		c := fwd.FromRequestCtx(ctx)
		fmt.Fprintf(ctx, "%s %s %s", a, b, c)
	}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })

	tests := []struct {
		name    string
		headers []string
		want    string
	}{
		{"no headers", nil, "127.0.0.1 127.0.0.1 127.0.0.1"},
		{"multiple xff", []string{"X-Forwarded-For: 6.6.6.6, 198.51.100.7", "X-Forwarded-For: 10.1.1.1", "x-forwarded-for: 10.2.2.2:80"},
			"198.51.100.7 127.0.0.1 127.0.0.1"},
		{"junk", []string{"X-Forwarded-For: 6.6.6.6, unknown", "X-Forwarded-For: 10.1.1.1"}, "10.1.1.1 127.0.0.1 127.0.0.1"},
		{"forwarded", []string{`Forwarded: for="[2001:db8::7]:443"`, "X-Forwarded-For: 1.1.1.1"}, "1.1.1.1 127.0.0.1 2001:db8::7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp4", ln.Addr().String(), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			req := "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
			for _, h := range tt.headers {
				req += h + "\r\n"
			}
			if _, err := conn.Write([]byte(req + "\r\n")); err != nil {
				t.Fatal(err)
			}
			var resp fasthttp.Response
			if err := resp.Read(bufio.NewReader(conn)); err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(string(resp.Body())); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}

	// The same through fasthttp's own client, which sends every added
	// header instance.
	t.Run("fasthttp client", func(t *testing.T) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://" + ln.Addr().String() + "/")
		req.Header.Add("X-Forwarded-For", "203.0.113.50")
		req.Header.Add("X-Forwarded-For", "::ffff:10.9.9.9")
		if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		if got, want := string(resp.Body()), "203.0.113.50 127.0.0.1 127.0.0.1"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	if got := PeerAddr(&net.TCPAddr{IP: net.ParseIP("::ffff:1.2.3.4"), Port: 1}); got != netip.MustParseAddr("1.2.3.4") {
		t.Errorf("PeerAddr mapped = %v", got)
	}
	if PeerAddr(nil).IsValid() {
		t.Error("PeerAddr(nil) valid")
	}
}
