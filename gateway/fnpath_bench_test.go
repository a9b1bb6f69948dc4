package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/admin"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/store/buntstore"
	"github.com/wharfhq/wharf/internal/testenv"
)

// fillerFunction has routes that are matched before whoami, about as many
// as wharf serve registers ahead of it (whoami is the 78th of 139 there).
type fillerFunction struct{}

func (fillerFunction) Name() string { return "filler" }

func (fillerFunction) Routes() []fnapi.Route {
	noop := func(r *fnapi.Request) error { r.Ctx.SetStatusCode(fasthttp.StatusNoContent); return nil }
	var rs []fnapi.Route
	for i := range 20 {
		rs = append(rs,
			fnapi.Route{Method: "GET", Pattern: fmt.Sprintf("/api/v1/config/apps/{app}/clusters/{c}/namespaces/{ns}/x%d", i), Access: fnapi.AnyToken(), Handler: noop},
			fnapi.Route{Method: "POST", Pattern: fmt.Sprintf("/api/v1/teams/{team}/apps/{app}/y%d", i), Access: fnapi.AnyToken(), Handler: noop},
			fnapi.Route{Method: "GET", Pattern: fmt.Sprintf("/api/v1/things%d/list", i), Access: fnapi.AnyToken(), Handler: noop},
			fnapi.Route{Method: "GET", Pattern: fmt.Sprintf("/api/v1/stuff%d/{id}/more", i), Access: fnapi.AnyToken(), Handler: noop},
			fnapi.Route{Method: "GET", Pattern: fmt.Sprintf("/fn/f%d/{team}/{key}", i), Access: fnapi.AnyToken(), Handler: noop},
			fnapi.Route{Method: "GET", Pattern: fmt.Sprintf("/api/v1/items%d/{id}", i), Access: fnapi.AnyToken(), Handler: noop},
		)
	}
	return rs
}

// fnPath is a gateway as in the nginx comparison (10,000-CIDR deny list,
// built-in routes) whose functions are the real function mux with the
// admin function, checking tokens through a running auth.Cache, as wharf
// serve wires them; token is an admin token.
func fnPath(tb testing.TB) (g *Gateway, token string) {
	tb.Helper()
	st, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	svc := auth.NewService(st)
	token, err = svc.Bootstrap(context.Background(), "")
	if err != nil {
		tb.Fatal(err)
	}
	cache := auth.NewCache(svc, auth.CacheOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cache.Run(ctx) }()
	tb.Cleanup(func() { cancel(); <-done })
	testenv.Eventually(tb, 10*time.Second, func() error {
		if _, err := cache.Authenticate(context.Background(), token); err != nil {
			return err
		}
		if cache.Len() != 1 {
			return errors.New("the token is not cached yet")
		}
		return nil
	})
	mux := fnapi.NewMux(cache, nil)
	tb.Cleanup(mux.Close)
	if err := mux.Register(fillerFunction{}); err != nil {
		tb.Fatal(err)
	}
	if err := mux.Register(admin.New(svc, admin.Options{Version: "bench"})); err != nil {
		tb.Fatal(err)
	}
	return benchGatewayWith(tb, 0, nil, mux), token
}

// whoamiRequest makes ctx the request wrk sends in the wharf-fn target:
// GET /api/v1/whoami with a Host and the admin token.
func whoamiRequest(ctx *fasthttp.RequestCtx, token string) {
	var req fasthttp.Request
	req.SetRequestURI("/api/v1/whoami")
	req.Header.SetHost("127.0.0.1:8080")
	req.Header.Set(fasthttp.HeaderAuthorization, "Bearer "+token)
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
}

// BenchmarkFunctionPath is the whole in-process function answer of the
// wharf-fn target (bench/gateway): request id, real IP, bans, the deny
// list, routing, the function mux, the cached token check and whoami's
// JSON answer.
func BenchmarkFunctionPath(b *testing.B) {
	g, token := fnPath(b)
	var ctx fasthttp.RequestCtx
	whoamiRequest(&ctx, token)
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		g.handle(&ctx)
		if ctx.Response.StatusCode() != fasthttp.StatusOK {
			b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}
