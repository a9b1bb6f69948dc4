package gateway

import (
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/wharfhq/wharf/internal/config"
)

// benchGateway is a gateway with the features the nginx comparison turns on
// — a deny list of 10,000 CIDRs, a per-IP rate limit that never rejects, a
// host route — proxying to an in-memory upstream.
func benchGateway(b *testing.B) *Gateway { return benchGatewayPipelined(b, 0) }

// benchGatewayPipelined is benchGateway with the service pipelining over n
// connections (0: off).
func benchGatewayPipelined(b testing.TB, n int) *Gateway {
	b.Helper()
	return benchGatewayWith(b, n, nil, nil)
}

// benchGatewayWith is benchGatewayPipelined with more routes and limits and
// the given functions.
func benchGatewayWith(b testing.TB, n int, routes []config.RouteConfig, fns Functions) *Gateway {
	b.Helper()
	ln := fasthttputil.NewInmemoryListener()
	up := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("hello from upstream") }}
	go func() { _ = up.Serve(ln) }()
	b.Cleanup(func() { _ = ln.Close() })
	deny := make([]string, 0, 10000)
	for i := 0; len(deny) < 10000; i++ {
		deny = append(deny, fmt.Sprintf("%d.%d.%d.0/24", 11+i/65536%200, i/256%256, i%256))
	}
	g, err := New(Options{
		Listen: "127.0.0.1:0",
		Edge: config.Edge{
			ACL: config.ACLConfig{Deny: deny},
			Limits: []config.LimitConfig{
				{Name: "per_ip", Key: "ip", Rate: "1000000r/s", Burst: 1000000, NoDelay: true},
				{Name: "strict", Key: "ip", Rate: "1r/m", NoDelay: true},
			},
			Services: []config.ServiceConfig{{Name: "up", Pipeline: n, Instances: []config.InstanceConfig{{Addr: "upstream:80"}}}},
			Routes: append([]config.RouteConfig{{Name: "up", Host: "shop.example.com", Path: "/", Service: "up", Limits: []string{"per_ip"}}},
				routes...),
		},
		UpstreamDial: func(string, time.Duration) (net.Conn, error) { return ln.Dial() },
	}, fns)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { g.stop(); g.state.close(); g.ln.Close(); g.state.transport.Close() })
	return g
}

func benchRequest(ctx *fasthttp.RequestCtx, i int) {
	var req fasthttp.Request
	req.SetRequestURI("/products/42?color=red")
	req.Header.SetHost("shop.example.com")
	req.Header.Set("User-Agent", "bench")
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(198, 51, byte(i>>8), byte(i)), Port: 40000}, nil)
}

// BenchmarkHandlerPath is the whole request path: request id, real IP, bans,
// the 10k-CIDR deny list, routing, a rate-limit decision with its response
// fields, and the proxied exchange with the upstream (in memory).
func BenchmarkHandlerPath(b *testing.B) {
	g := benchGateway(b)
	var ctx fasthttp.RequestCtx
	benchRequest(&ctx, 1)
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		g.handle(&ctx)
		if ctx.Response.StatusCode() != 200 {
			b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}

// BenchmarkHandlerPathParallel is the same from GOMAXPROCS goroutines, each
// a different client address.
func BenchmarkHandlerPathParallel(b *testing.B) {
	g := benchGateway(b)
	b.ReportAllocs()
	var n atomic.Int32 // each goroutine its client address
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		benchRequest(&ctx, int(n.Add(1)))
		for pb.Next() {
			ctx.Response.Reset()
			g.handle(&ctx)
			if ctx.Response.StatusCode() != 200 {
				b.Errorf("status %d", ctx.Response.StatusCode())
				return
			}
		}
	})
}

// BenchmarkHandlerDenied is a request refused by the deny list.
func BenchmarkHandlerDenied(b *testing.B) {
	g := benchGateway(b)
	var ctx fasthttp.RequestCtx
	var req fasthttp.Request
	req.SetRequestURI("/")
	req.Header.SetHost("shop.example.com")
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(11, 0, 0, 9), Port: 40000}, nil)
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		g.handle(&ctx)
		if ctx.Response.StatusCode() != 403 {
			b.Fatalf("status %d", ctx.Response.StatusCode())
		}
	}
}

// BenchmarkHandlerPathPipelinedParallel is the parallel path with the
// upstream pipelined over 2 connections.
func BenchmarkHandlerPathPipelinedParallel(b *testing.B) {
	g := benchGatewayPipelined(b, 2)
	b.ReportAllocs()
	var n atomic.Int32 // each goroutine its client address
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		benchRequest(&ctx, int(n.Add(1)))
		for pb.Next() {
			ctx.Response.Reset()
			g.handle(&ctx)
			if ctx.Response.StatusCode() != 200 {
				b.Errorf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
				return
			}
		}
	})
}
