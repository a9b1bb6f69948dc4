package proxy

import (
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// benchRoute serves a small response from an in-memory upstream.
func benchRoute(b *testing.B) *Route {
	b.Helper()
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"ok":true}`)
	}}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() {
		_ = srv.Shutdown()
		_ = ln.Close()
	})
	tr := NewTransport(Options{Dial: func(string, time.Duration) (net.Conn, error) { return ln.Dial() }})
	b.Cleanup(tr.Close)
	return tr.NewRoute(mustService(b, "shop", nil, "10.0.0.1:8080", "10.0.0.2:8080"), RouteConfig{})
}

func benchCtx(method string, body []byte) *fasthttp.RequestCtx {
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI("/api/items?page=2")
	req.Header.SetHost("shop.example.com")
	req.Header.Set("User-Agent", "bench/1.0")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Cookie", "session=abc; theme=dark")
	req.Header.Set("Connection", "keep-alive")
	if body != nil {
		req.Header.SetContentType("application/json")
		req.SetBody(body)
	}
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 40000}, nil)
	return ctx
}

func benchServe(b *testing.B, method string, body []byte) {
	r := benchRoute(b)
	in := Input{RequestID: "0123456789ab-1"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := benchCtx(method, body)
		for pb.Next() {
			ctx.Response.Reset()
			if out := r.Serve(ctx, in); out.Status != 200 {
				b.Errorf("outcome %+v", out)
				return
			}
		}
	})
}

// BenchmarkServeGET proxies a small GET to an in-memory upstream.
func BenchmarkServeGET(b *testing.B) { benchServe(b, fasthttp.MethodGet, nil) }

// BenchmarkServePOST proxies a small buffered POST body.
func BenchmarkServePOST(b *testing.B) {
	benchServe(b, fasthttp.MethodPost, []byte(`{"name":"widget","qty":3}`))
}

// BenchmarkServeGETSerial is BenchmarkServeGET on one goroutine.
func BenchmarkServeGETSerial(b *testing.B) {
	r := benchRoute(b)
	in := Input{RequestID: "0123456789ab-1"}
	ctx := benchCtx(fasthttp.MethodGet, nil)
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		if out := r.Serve(ctx, in); out.Status != 200 {
			b.Fatalf("outcome %+v", out)
		}
	}
}
