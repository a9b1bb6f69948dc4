package adminapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/acl"
	"github.com/wharfhq/wharf/gateway/adminapi"
	"github.com/wharfhq/wharf/gateway/edge"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/gateway/realip"
	"github.com/wharfhq/wharf/gateway/registry"
	"github.com/wharfhq/wharf/gateway/roomswitch"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/store/buntstore"
	"github.com/wharfhq/wharf/internal/testenv"
)

type server struct {
	g     *gateway.Gateway
	addr  string
	admin string
	team  string
	// agent and ingest are tokens of those scopes only.
	agent, ingest string
	fn            *adminapi.Function
	// unlock is the internal listener's unlock handler.
	unlock http.Handler
}

type statsRef struct{ g *gateway.Gateway }

func (s *statsRef) Stats() any { return s.g.Stats() }

// newServer runs the admin API inside a real gateway over a buntdb store,
// the way `wharf serve` wires it.
func newServer(t *testing.T) *server { return newServerWith(t, gateway.Options{}) }

// newServerWith is newServer with gateway options (trusted proxies, IPv6
// prefix); the admin API sees clients the way the gateway does.
func newServerWith(t *testing.T, gopts gateway.Options) *server {
	t.Helper()
	st, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tokens := auth.NewService(st)
	admin, err := tokens.Bootstrap(context.Background(), filepath.Join(t.TempDir(), "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	_, team, err := tokens.Create(context.Background(), auth.CreateRequest{Name: "shop", Scopes: []string{auth.TeamScope("shop")}, CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	_, agent, err := tokens.Create(context.Background(), auth.CreateRequest{Name: "agent1", Scopes: []string{auth.ScopeAgent}, CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	_, ingest, err := tokens.Create(context.Background(), auth.CreateRequest{Name: "ingest1", Scopes: []string{auth.ScopeIngest}, CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	bans, err := acl.NewBanManager(acl.BanManagerOptions{IPv6Prefix: gopts.IPv6Prefix}, st)
	if err != nil {
		t.Fatal(err)
	}
	ip, err := realip.New(realip.Options{TrustedProxies: gopts.TrustedProxies, IPv6Prefix: gopts.IPv6Prefix})
	if err != nil {
		t.Fatal(err)
	}
	ref := &statsRef{}
	es := edge.New(st, edge.Options{})
	fn, err := adminapi.New(adminapi.Options{Edge: es, Bans: bans, Registry: registry.New(st, registry.Options{}), Stats: ref,
		Switches: roomswitch.New(st, roomswitch.Options{}), ClientIP: ip.FromRequestCtx})
	if err != nil {
		t.Fatal(err)
	}
	mux := fnapi.NewMux(tokens, nil)
	if err := mux.Register(fn); err != nil {
		t.Fatal(err)
	}
	gopts.Store = st
	g := gatewaytest.Start(t, gopts, mux)
	ref.g = g
	return &server{g: g, addr: g.Addr().String(), admin: admin, team: team, fn: fn, agent: agent, ingest: ingest, unlock: fn.UnlockHandler(tokens)}
}

func (s *server) do(t *testing.T, method, path, body string) gatewaytest.Response {
	t.Helper()
	return gatewaytest.Do(t, s.addr, method, path, map[string]string{"Authorization": "Bearer " + s.admin}, body)
}

func want(t *testing.T, r gatewaytest.Response, status int, contains string) {
	t.Helper()
	if r.Status != status || !strings.Contains(r.String(), contains) {
		t.Fatalf("got %d %s; want %d containing %q", r.Status, r.Body, status, contains)
	}
}

func TestOnlyAdminsChangeTheEdge(t *testing.T) {
	s := newServer(t)
	r := gatewaytest.Do(t, s.addr, "GET", "/api/v1/gateway/config", nil, "")
	want(t, r, 401, "bearer token")
	r = gatewaytest.Do(t, s.addr, "PUT", "/api/v1/gateway/limits/x", map[string]string{"Authorization": "Bearer " + s.team}, `{"key":"ip","rate":"1r/s"}`)
	want(t, r, 403, "scope")
}

func TestWritesAreValidatedNamingTheField(t *testing.T) {
	s := newServer(t)
	cases := []struct{ path, body, field string }{
		{"/api/v1/gateway/limits/l", `{"key":"ip","rate":"0r/s"}`, "rate:"},
		{"/api/v1/gateway/limits/l", `{"key":"ip","rate":"10r/s","burst":-1}`, "burst:"},
		{"/api/v1/gateway/limits/l", `{"key":"ip","rate":"10r/s","status":302}`, "status:"},
		{"/api/v1/gateway/limits/l", `{"key":"cookie","rate":"10r/s"}`, "key:"},
		{"/api/v1/gateway/limits/l", `{"key":"ip","rate":"10r/s","bogus":1}`, "bogus"},
		{"/api/v1/gateway/routes/r", `{"path":"/","function":"api","limits":["nope"]}`, "limits[0]: unknown limit"},
		{"/api/v1/gateway/routes/r", `{"path":"/","service":"nope"}`, "service: unknown service"},
		{"/api/v1/gateway/routes/r", `{"path":"x","function":"api"}`, "path:"},
		{"/api/v1/gateway/routes/r", `{"path":"/","function":"api","acl":{"deny":["10.0.0.0/33"]}}`, "acl.deny[0]"},
		{"/api/v1/gateway/services/s", `{"instances":[{"addr":"nohostport"}]}`, "instances[0].addr"},
		{"/api/v1/gateway/services/s", `{"team":"Not A Team"}`, "team:"},
		{"/api/v1/gateway/routes/BAD", `{"path":"/","function":"api"}`, "name:"},
		{"/api/v1/gateway/routes/r", `{"name":"other","path":"/","function":"api"}`, "name:"},
	}
	for _, c := range cases {
		want(t, s.do(t, "PUT", c.path, c.body), 400, c.field)
	}
	want(t, s.do(t, "POST", "/api/v1/gateway/acl/deny", `{"cidrs":["1.2.3.4","300.1.1.1"]}`), 400, "cidrs[1]")
	want(t, s.do(t, "POST", "/api/v1/gateway/bans", `{"prefix":"1.2.3.4"}`), 400, "ttl")
	want(t, s.do(t, "POST", "/api/v1/gateway/bans", `{"prefix":"1.2.3.999","ttl":"1m"}`), 400, "prefix")
	var cfg edge.Doc
	if err := json.Unmarshal(s.do(t, "GET", "/api/v1/gateway/config", "").Body, &cfg); err != nil || cfg.Version != 0 {
		t.Fatalf("rejected writes must leave nothing: %v %+v", err, cfg)
	}
}

func TestCRUDVersionedAndAppliedByTheGateway(t *testing.T) {
	s := newServer(t)
	want(t, s.do(t, "PUT", "/api/v1/gateway/limits/per_ip", `{"key":"ip","rate":"1r/m","nodelay":true}`), 201, `"version":1`)
	want(t, s.do(t, "PUT", "/api/v1/gateway/routes/api", `{"path":"/api/v1/whoami","function":"api","limits":["per_ip"]}`), 201, `"version":2`)
	want(t, s.do(t, "PUT", "/api/v1/gateway/limits/per_ip", `{"key":"ip","rate":"2r/m","nodelay":true}`), 200, `"rate":"2r/m"`)
	want(t, s.do(t, "DELETE", "/api/v1/gateway/limits/per_ip", ""), 409, "used by routes [api]")
	want(t, s.do(t, "GET", "/api/v1/gateway/routes/api", ""), 200, `"limits":["per_ip"]`)
	want(t, s.do(t, "GET", "/api/v1/gateway/routes/none", ""), 404, "not found")
	want(t, s.do(t, "GET", "/api/v1/gateway/widgets", ""), 404, "no such gateway collection")
	testenv.Eventually(t, time.Second, func() error {
		if v := s.g.ConfigVersion(); v < 3 {
			return &config.FieldError{Field: "version", Msg: "not applied yet"}
		}
		return nil
	})
	// The route's limit now applies to whoami: 2r/m, nodelay, burst 0.
	if r := s.do(t, "GET", "/api/v1/whoami", ""); r.Status != 404 && r.Status != 200 {
		t.Fatalf("first call: %d %s", r.Status, r.Body)
	}
	want(t, s.do(t, "GET", "/api/v1/whoami", ""), 429, "rate limit")
	r := s.do(t, "GET", "/api/v1/gateway/history", "")
	var h struct {
		Changes []edge.Change `json:"changes"`
	}
	if err := json.Unmarshal(r.Body, &h); err != nil || len(h.Changes) != 3 || h.Changes[0].Action != "put limit per_ip" || h.Changes[0].By != "admin" {
		t.Fatalf("history: %v %s", err, r.Body)
	}
	want(t, s.do(t, "DELETE", "/api/v1/gateway/routes/api", ""), 200, `"version":4`)
	want(t, s.do(t, "DELETE", "/api/v1/gateway/limits/per_ip", ""), 200, `"version":5`)
}

func TestACLListsAndBans(t *testing.T) {
	s := newServer(t)
	want(t, s.do(t, "POST", "/api/v1/gateway/acl/deny", `{"cidrs":["203.0.113.0/24","2001:db8::/32"]}`), 200, `"added":2`)
	want(t, s.do(t, "POST", "/api/v1/gateway/acl/deny", `{"cidrs":["203.0.113.0/24"]}`), 200, `"added":0`)
	want(t, s.do(t, "GET", "/api/v1/gateway/acl", ""), 200, `"deny":["203.0.113.0/24","2001:db8::/32"]`)
	want(t, s.do(t, "DELETE", "/api/v1/gateway/acl/deny?cidr=2001:db8::/32", ""), 200, "removed")
	want(t, s.do(t, "DELETE", "/api/v1/gateway/acl/deny?cidr=10.0.0.0/8", ""), 404, "not on the global deny list")
	want(t, s.do(t, "POST", "/api/v1/gateway/acl/maybe", `{"cidrs":["1.2.3.4"]}`), 404, "allow or deny")

	want(t, s.do(t, "POST", "/api/v1/gateway/bans", `{"prefix":"192.0.2.7","ttl":"10m","reason":"scraping"}`), 201, `"prefix":"192.0.2.7/32"`)
	want(t, s.do(t, "GET", "/api/v1/gateway/bans", ""), 200, `"reason":"scraping"`)
	want(t, s.do(t, "DELETE", "/api/v1/gateway/bans?prefix=192.0.2.7", ""), 200, "unbanned")
	want(t, s.do(t, "DELETE", "/api/v1/gateway/bans?prefix=192.0.2.7", ""), 404, "no ban")
	testenv.Eventually(t, time.Second, func() error { // the watch applies the ACL change
		if s.g.ConfigVersion() < 1 {
			return &config.FieldError{Field: "version", Msg: "not applied yet"}
		}
		return nil
	})
	r := s.do(t, "GET", "/api/v1/gateway/stats", "")
	var st gateway.Stats
	if err := json.Unmarshal(r.Body, &st); err != nil || st.Requests["2xx"] == 0 || st.LimitMode != "local" || st.ConfigVersion < 1 {
		t.Fatalf("stats: %v %s", err, r.Body)
	}
}

// TestRegistryWithoutHostBindings: a node wired without host bindings lets
// only admins write the registry.
func TestRegistryWithoutHostBindings(t *testing.T) {
	s := newServer(t)
	body := `{"addr":"127.0.0.1:4001","labels":{"host":"h1"}}`
	as := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	want(t, gatewaytest.Do(t, s.addr, "PUT", "/api/v1/services/shop/instances/i1", as(s.agent), body), 403, "only admins")
	want(t, gatewaytest.Do(t, s.addr, "PUT", "/api/v1/services/shop/instances/i1", as(s.team), body), 403, "scope")
	want(t, gatewaytest.Do(t, s.addr, "PUT", "/api/v1/services/shop/instances/i1", nil, body), 401, "bearer")
	want(t, s.do(t, "PUT", "/api/v1/services/shop/instances/i1", body), 200, `"addr":"127.0.0.1:4001"`)
	want(t, gatewaytest.Do(t, s.addr, "DELETE", "/api/v1/services/shop/instances/i1", as(s.agent), ""), 404, "no instance i1")
	want(t, s.do(t, "DELETE", "/api/v1/services/shop/instances/i1", ""), 200, `"deregistered":"i1"`)
}
