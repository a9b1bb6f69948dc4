package fnapi

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/store/buntstore"
	"github.com/wharfhq/wharf/internal/testenv"
)

// testFunction is a Function with a fixed route list.
type testFunction struct {
	name   string
	routes []Route
}

func (f testFunction) Name() string    { return f.name }
func (f testFunction) Routes() []Route { return f.routes }

// reply answers with the route's label, its params and the caller.
func reply(label string) func(r *Request) error {
	return func(r *Request) error {
		params := map[string]string{}
		for _, p := range r.Params {
			params[p.Name] = p.Value
		}
		return r.JSON(fasthttp.StatusOK, map[string]any{
			"route": label, "params": params, "caller": r.Principal.Name, "request_id": r.RequestID,
		})
	}
}

type replyBody struct {
	Route     string            `json:"route"`
	Params    map[string]string `json:"params"`
	Caller    string            `json:"caller"`
	RequestID string            `json:"request_id"`
}

type errorBody struct {
	Error     string `json:"error"`
	RequestID string `json:"request_id"`
}

// env is a Mux over a real token service and buntdb, behind a real gateway.
type env struct {
	mux                      *Mux
	svc                      *auth.Service
	st                       *buntstore.Store
	gw                       *gateway.Gateway
	admin, shop, agent, blog string
}

func newEnv(t *testing.T, fns ...Function) *env {
	t.Helper()
	return newEnvWith(t, false, fns...)
}

// newEnvWith is newEnv with the tokens checked through a running
// auth.Cache (as wharf serve wires the Mux) when cached is set.
func newEnvWith(t *testing.T, cached bool, fns ...Function) *env {
	t.Helper()
	st, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e := &env{svc: auth.NewService(st), st: st}
	e.admin = e.token(t, "root", auth.ScopeAdmin)
	e.shop = e.token(t, "shop", auth.TeamScope("shop"))
	e.blog = e.token(t, "blog", auth.TeamScope("blog"))
	e.agent = e.token(t, "agent-1", auth.ScopeAgent)
	e.mux = NewMux(e.svc, nil)
	if cached {
		e.mux = NewMux(startCache(t, e.svc, e.admin), nil)
	}
	for _, f := range fns {
		if err := e.mux.Register(f); err != nil {
			t.Fatal(err)
		}
	}
	e.gw = startGateway(t, e.mux)
	return e
}

func (e *env) token(t *testing.T, name string, scopes ...string) string {
	t.Helper()
	_, plain, err := e.svc.Create(context.Background(), auth.CreateRequest{Name: name, Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	return plain
}

func startGateway(t *testing.T, fns gateway.Functions) *gateway.Gateway {
	t.Helper()
	// Send every path to the functions, not only the built-in /api/ and /fn/.
	edge := config.Edge{Routes: []config.RouteConfig{{Name: "all", Path: "/", Function: "api"}}}
	return gatewaytest.Start(t, gateway.Options{Edge: edge}, fns)
}

type response struct {
	status int
	header map[string]string
	body   []byte
}

func (r response) String() string { return string(r.body) }

// do sends one request through the gateway; token "" sends no Authorization.
func (e *env) do(t *testing.T, method, path, token, body string) response {
	t.Helper()
	return e.doHeader(t, method, path, map[string]string{"Authorization": bearer(token)}, body)
}

func bearer(token string) string {
	if token == "" {
		return ""
	}
	return "Bearer " + token
}

func (e *env) doHeader(t *testing.T, method, path string, hdr map[string]string, body string) response {
	t.Helper()
	r := gatewaytest.Do(t, e.gw.Addr().String(), method, path, hdr, body)
	return response{status: r.Status, header: r.Header, body: r.Body}
}

func decode[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("response %d is not JSON: %v: %q", r.status, err, r.body)
	}
	return v
}

// wantError checks an error response: status, JSON body with an error that
// contains msg, and a request id equal to the X-Request-Id header.
func wantError(t *testing.T, r response, status int, msg string) errorBody {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header["Content-Type"]; ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	b := decode[errorBody](t, r)
	if b.Error == "" || !containsFold(b.Error, msg) {
		t.Fatalf("error %q, want it to contain %q", b.Error, msg)
	}
	if b.RequestID == "" || b.RequestID != r.header[gateway.HeaderRequestID] {
		t.Fatalf("request_id %q, X-Request-Id header %q", b.RequestID, r.header[gateway.HeaderRequestID])
	}
	return b
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// startCache runs an auth.Cache over svc until the test ends and waits
// until it serves token from memory.
func startCache(t *testing.T, svc *auth.Service, token string) *auth.Cache {
	t.Helper()
	cache := auth.NewCache(svc, auth.CacheOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cache.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	testenv.Eventually(t, 10*time.Second, func() error {
		if _, err := cache.Authenticate(context.Background(), token); err != nil {
			return err
		}
		if cache.Len() == 0 {
			return errors.New("the token is not cached yet")
		}
		return nil
	})
	return cache
}
