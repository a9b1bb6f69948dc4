package proxy

import (
	"bufio"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/wharfhq/wharf/gateway/route"
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

// BenchmarkServeGETInPlace is BenchmarkServeGETSerial without the
// request's "Connection: keep-alive": with nothing to drop, the request is
// forwarded in place instead of copied (compare the two in one run).
func BenchmarkServeGETInPlace(b *testing.B) {
	r := benchRoute(b)
	in := Input{RequestID: "0123456789ab-1"}
	ctx := benchCtx(fasthttp.MethodGet, nil)
	ctx.Request.Header.Del(fasthttp.HeaderConnection)
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		if out := r.Serve(ctx, in); out.Status != 200 {
			b.Fatalf("outcome %+v", out)
		}
	}
}

// BenchmarkServeGETLoopback proxies a small GET to an upstream on a loopback
// TCP port, with the client request arriving on a real loopback TCP
// connection: the path a deployed gateway takes, including its per-request
// syscalls and timers.
func BenchmarkServeGETLoopback(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"ok":true}`)
	}}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Shutdown() })
	tr := NewTransport(Options{})
	b.Cleanup(tr.Close)
	r := tr.NewRoute(mustService(b, "shop", nil, ln.Addr().String()), RouteConfig{})
	// A client connection for the request context to belong to.
	cl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	in := Input{RequestID: "0123456789ab-1"}
	// Each goroutine's client end must be the peer of its own accepted
	// end: a goroutine that ends closes its client, and the request
	// context of another goroutine on that connection would see its
	// client gone (499) once a request waits ClientWatchDelay.
	var pair sync.Mutex
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		pair.Lock()
		client, err := net.Dial("tcp", cl.Addr().String())
		if err != nil {
			pair.Unlock()
			b.Error(err)
			return
		}
		defer client.Close()
		conn, err := cl.Accept()
		pair.Unlock()
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		ctx := &fasthttp.RequestCtx{}
		ctx.Init2(conn, nil, false)
		ctx.Request.Header.SetMethod(fasthttp.MethodGet)
		ctx.Request.SetRequestURI("/api/items?page=2")
		ctx.Request.Header.SetHost("shop.example.com")
		ctx.Request.Header.Set("User-Agent", "bench/1.0")
		ctx.Request.Header.Set("Accept", "application/json")
		for pb.Next() {
			ctx.Response.Reset()
			if out := r.Serve(ctx, in); out.Status != 200 {
				b.Errorf("outcome %+v", out)
				return
			}
		}
	})
}

// BenchmarkIdlePeek is the look at a reused upstream connection before each
// request is written on it (one non-blocking MSG_PEEK).
func BenchmarkIdlePeek(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	peer, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	defer peer.Close()
	tc := track(c)
	b.ReportAllocs()
	for b.Loop() {
		if tc.closedWhileIdle() {
			b.Fatal("open connection seen as closed")
		}
	}
}

// BenchmarkWatchArmDisarm is what the client watcher costs a request that
// is answered before ClientWatchDelay: two short critical sections (the
// timer, already pending, is left to lapse).
func BenchmarkWatchArmDisarm(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	c := NewTransport(Options{}).getCall()
	b.ReportAllocs()
	for b.Loop() {
		c.watch.arm(conn, DefaultClientWatchDelay, time.Now())
		c.watch.disarm()
	}
}

// BenchmarkServeGETRewrite is BenchmarkServeGETSerial on a route that
// rewrites /api/ to /v2/ (and sets X-Forwarded-Prefix).
func BenchmarkServeGETRewrite(b *testing.B) {
	r := benchRoute(b)
	r = r.t.NewRoute(r.svc, RouteConfig{Rewrite: mustRewrite(b, "/api/", "/v2/")})
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

// BenchmarkUpstreamHead builds and writes the upstream request head of a
// browser-like GET (eight headers, nothing to drop) both ways: copied into
// the call's request, and edited in place. Each iteration first restores
// the client's request from a template (the same cost for both, measured
// alone as "template"), as a server parses a fresh one per request.
func BenchmarkUpstreamHead(b *testing.B) {
	var tmpl fasthttp.Request
	tmpl.Header.SetMethod(fasthttp.MethodGet)
	tmpl.SetRequestURI("/api/items?page=2")
	tmpl.Header.SetHost("shop.example.com")
	for _, kv := range [][2]string{
		{"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) bench/1.0"},
		{"Accept", "application/json"},
		{"Accept-Language", "en-US,en;q=0.9"},
		{"Accept-Encoding", "gzip, deflate"},
		{"Referer", "https://shop.example.com/"},
		{"Cookie", "session=abc; theme=dark"},
		{HeaderRequestID, "0123456789ab-1"},
	} {
		tmpl.Header.Set(kv[0], kv[1])
	}
	in := Input{RequestID: "0123456789ab-1"}
	rw := route.Keep("/")
	w := bufio.NewWriter(io.Discard)
	run := func(b *testing.B, mode string) {
		ctx := &fasthttp.RequestCtx{}
		ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 40000}, nil)
		var c call
		b.ReportAllocs()
		for b.Loop() {
			tmpl.Header.CopyTo(&ctx.Request.Header)
			ctx.Request.SetRequestURIBytes(tmpl.Header.RequestURI())
			_ = ctx.Path() // the router parsed the URI
			switch mode {
			case "template":
				// The restore alone: subtract it from the others.
			case "inplace":
				if !forwardInPlace(ctx, rw, false, false) {
					b.Fatal("not forwarded in place")
				}
				c.prepareInPlace(ctx, &in, "10.0.0.1:8080")
				_ = c.writeInPlace(w, &ctx.Request.Header)
				c.restoreInPlace(ctx)
			default:
				c.copyRequestHeaders(ctx, &c.req.Header, &in, rw)
				c.req.UseHostHeader = true
				_ = c.req.Write(w)
				c.req.Reset()
			}
		}
	}
	for _, mode := range []string{"template", "copy", "inplace"} {
		b.Run(mode, func(b *testing.B) { run(b, mode) })
	}
}
