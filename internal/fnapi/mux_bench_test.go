package fnapi

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/store/buntstore"
	"github.com/wharfhq/wharf/internal/testenv"
)

// benchMux is a Mux with a realistic number of routes around the measured one.
func benchMux(b *testing.B, authn Authenticator, access Access) *Mux {
	b.Helper()
	m := NewMux(authn, nil)
	noop := func(r *Request) error { r.Ctx.SetStatusCode(fasthttp.StatusNoContent); return nil }
	err := m.Register(testFunction{"bench", []Route{
		{Method: "GET", Pattern: "/api/v1/whoami", Access: access, Handler: noop},
		{Method: "GET", Pattern: "/api/v1/tokens", Access: access, Handler: noop},
		{Method: "POST", Pattern: "/api/v1/tokens", Access: access, Handler: noop},
		{Method: "DELETE", Pattern: "/api/v1/tokens/{id}", Access: access, Handler: noop},
		{Method: "GET", Pattern: "/api/v1/teams/{team}/apps", Access: access, Handler: noop},
		{Method: "POST", Pattern: "/api/v1/teams/{team}/apps/{app}/deploy", Access: access, Handler: noop},
		{Method: "GET", Pattern: "/configs/{team}/{key}", Access: access, Handler: noop},
		{Method: "GET", Pattern: "/api/v1/teams/{team}/apps/{app}", Access: access, Handler: func(r *Request) error {
			if r.Params.Get("app") != "web" {
				panic("wrong param")
			}
			r.Ctx.SetStatusCode(fasthttp.StatusOK)
			return nil
		}},
	}})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

func benchServe(b *testing.B, m *Mux, token string) {
	var req fasthttp.Request
	req.SetRequestURI("/api/v1/teams/shop/apps/web")
	req.Header.SetMethod(fasthttp.MethodGet)
	if token != "" {
		req.Header.Set(fasthttp.HeaderAuthorization, "Bearer "+token)
	}
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, nil, nil)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ctx.Response.Reset()
		if !m.Serve(&ctx, "rid") || ctx.Response.StatusCode() != fasthttp.StatusOK {
			b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}

// BenchmarkMuxServeParamRoute measures routing alone: a public two-parameter route.
func BenchmarkMuxServeParamRoute(b *testing.B) {
	benchServe(b, benchMux(b, nil, Public()), "")
}

// BenchmarkMuxServeParamRouteAuthenticated adds a bearer token checked against
// buntdb and a team scope computed from the path.
func BenchmarkMuxServeParamRouteAuthenticated(b *testing.B) {
	st, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	svc := auth.NewService(st)
	_, tok, err := svc.Create(context.Background(), auth.CreateRequest{Name: "shop", Scopes: []string{auth.TeamScope("shop")}})
	if err != nil {
		b.Fatal(err)
	}
	access := Access{Scopes: func(p Params) []string { return []string{auth.TeamScope(p.Get("team"))} }}
	benchServe(b, benchMux(b, svc, access), tok)
}

// BenchmarkMuxServeParamRouteCachedToken is the authenticated route with
// the token checked by an auth.Cache, as cmd/wharf wires it.
func BenchmarkMuxServeParamRouteCachedToken(b *testing.B) {
	st, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	svc := auth.NewService(st)
	_, tok, err := svc.Create(context.Background(), auth.CreateRequest{Name: "shop", Scopes: []string{auth.TeamScope("shop")}})
	if err != nil {
		b.Fatal(err)
	}
	cache := auth.NewCache(svc, auth.CacheOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cache.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	testenv.Eventually(b, 10*time.Second, func() error {
		if _, err := cache.Authenticate(context.Background(), tok); err != nil {
			return err
		}
		if cache.Len() != 1 {
			return errors.New("the token is not cached yet")
		}
		return nil
	})
	access := Access{Scopes: func(p Params) []string { return []string{auth.TeamScope(p.Get("team"))} }}
	benchServe(b, benchMux(b, cache, access), tok)
}

// BenchmarkMuxServeManyRoutes routes among 120 routes of 2 to 6 segments,
// about as many as wharf serve registers, to a literal route matched last.
func BenchmarkMuxServeManyRoutes(b *testing.B) {
	m := NewMux(nil, nil)
	noop := func(r *Request) error { r.Ctx.SetStatusCode(fasthttp.StatusOK); return nil }
	var routes []Route
	for i := range 30 {
		routes = append(routes,
			Route{Method: "GET", Pattern: fmt.Sprintf("/api/v1/things%d", i), Access: Public(), Handler: noop},
			Route{Method: "GET", Pattern: fmt.Sprintf("/api/v1/things%d/{id}", i), Access: Public(), Handler: noop},
			Route{Method: "POST", Pattern: fmt.Sprintf("/fn/f%d/{team}/{key}/start", i), Access: Public(), Handler: noop},
			Route{Method: "GET", Pattern: fmt.Sprintf("/fn/f%d/{team}/{key}/versions/{v}", i), Access: Public(), Handler: noop})
	}
	routes = append(routes, Route{Method: "POST", Pattern: "/fn/ab/decide", Access: Public(), Handler: noop})
	if err := m.Register(testFunction{"bench", routes}); err != nil {
		b.Fatal(err)
	}
	var req fasthttp.Request
	req.SetRequestURI("/fn/ab/decide")
	req.Header.SetMethod(fasthttp.MethodPost)
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, nil, nil)
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		if !m.Serve(&ctx, "rid") || ctx.Response.StatusCode() != fasthttp.StatusOK {
			b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}
