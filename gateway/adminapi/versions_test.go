package adminapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/acl"
	"github.com/wharfhq/wharf/gateway/adminapi"
	"github.com/wharfhq/wharf/gateway/edge"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/gateway/registry"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/store/buntstore"
	"github.com/wharfhq/wharf/internal/testenv"
)

// versionServer is the admin API in a real gateway, started with a file
// edge config, and one token per scope.
type versionServer struct {
	*server
	es     *edge.Store
	tokens map[string]string // scope name → token
}

func startFile() config.Edge {
	return config.Edge{
		Limits:   []config.LimitConfig{{Name: "per_ip", Key: "ip", Rate: "10r/s", Burst: 20}},
		Services: []config.ServiceConfig{{Name: "shop", Instances: []config.InstanceConfig{{Addr: "127.0.0.1:9"}}}},
		Routes:   []config.RouteConfig{{Name: "shop", Path: "/shop/", Service: "shop", Limits: []string{"per_ip"}}},
	}
}

func newVersionServer(t *testing.T) *versionServer {
	t.Helper()
	ctx := context.Background()
	st, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tokens := auth.NewService(st)
	admin, err := tokens.Bootstrap(ctx, filepath.Join(t.TempDir(), "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	toks := map[string]string{"admin": admin}
	for name, scope := range map[string]string{"team": auth.TeamScope("shop"), "agent": auth.ScopeAgent, "ingest": auth.ScopeIngest} {
		_, tok, err := tokens.Create(ctx, auth.CreateRequest{Name: name, Scopes: []string{scope}, CreatedBy: "test"})
		if err != nil {
			t.Fatal(err)
		}
		toks[name] = tok
	}
	es := edge.New(st, edge.Options{})
	if _, err := es.Seed(ctx, startFile(), "seed:wharf.yaml"); err != nil {
		t.Fatal(err)
	}
	bans, err := acl.NewBanManager(acl.BanManagerOptions{}, st)
	if err != nil {
		t.Fatal(err)
	}
	fn, err := adminapi.New(adminapi.Options{Edge: es, Bans: bans, Registry: registry.New(st, registry.Options{}),
		File: &adminapi.StartFile{Path: "/etc/wharf.yaml", Edge: startFile()}})
	if err != nil {
		t.Fatal(err)
	}
	mux := fnapi.NewMux(tokens, nil)
	if err := mux.Register(fn); err != nil {
		t.Fatal(err)
	}
	g := gatewaytest.Start(t, gateway.Options{Store: st}, mux)
	return &versionServer{server: &server{g: g, addr: g.Addr().String(), admin: admin}, es: es, tokens: toks}
}

func (s *versionServer) as(t *testing.T, who, method, path, body string) gatewaytest.Response {
	t.Helper()
	hdr := map[string]string{}
	if who != "" {
		hdr["Authorization"] = "Bearer " + s.tokens[who]
	}
	return gatewaytest.Do(t, s.addr, method, path, hdr, body)
}

func applyBody(e config.Edge, ifVersion int64) string {
	b, _ := json.Marshal(map[string]any{"config": e, "if_version": ifVersion, "source": "wharf.yaml"})
	return string(b)
}

func TestVersionRoutesAreAdminOnly(t *testing.T) {
	s := newVersionServer(t)
	routes := []struct{ method, path, body string }{
		{"GET", "/api/v1/gateway/file", ""},
		{"PUT", "/api/v1/gateway/config", applyBody(startFile(), 1)},
		{"GET", "/api/v1/gateway/history/1", ""},
		{"POST", "/api/v1/gateway/rollback", `{"version":1,"if_version":1}`},
	}
	for _, r := range routes {
		want(t, s.as(t, "", r.method, r.path, r.body), 401, "bearer token")
		for _, who := range []string{"team", "agent", "ingest"} {
			if got := s.as(t, who, r.method, r.path, r.body); got.Status != 403 {
				t.Fatalf("%s %s as %s: %d %s", r.method, r.path, who, got.Status, got.Body)
			}
		}
		if got := s.as(t, "admin", r.method, r.path, r.body); got.Status != 200 {
			t.Fatalf("%s %s as admin: %d %s", r.method, r.path, got.Status, got.Body)
		}
	}
	// Nothing the refused callers sent was written.
	if d, _, _ := s.es.Get(context.Background()); d.Version != 1 {
		t.Fatalf("version %d after refused writes, want 1", d.Version)
	}
}

func TestFileStatusFollowsTheStore(t *testing.T) {
	s := newVersionServer(t)
	want(t, s.do(t, "GET", "/api/v1/gateway/file", ""), 200, `"differs":false`)
	want(t, s.do(t, "PUT", "/api/v1/gateway/routes/extra", `{"path":"/extra/","service":"shop"}`), 201, `"version":2`)
	r := s.do(t, "GET", "/api/v1/gateway/file", "")
	want(t, r, 200, `"differs":true`)
	want(t, r, 200, `"summary":"route extra removed"`)
	want(t, r, 200, `"apply":"wharf edge apply -f /etc/wharf.yaml"`)
	want(t, r, 200, `"stored_version":2`)
}

func TestApplyIsCompareAndSet(t *testing.T) {
	s := newVersionServer(t)
	next := startFile()
	next.Routes = append(next.Routes, config.RouteConfig{Name: "docs", Path: "/docs/", Service: "shop"})
	// A change through the API after the diff was made against version 1.
	want(t, s.do(t, "PUT", "/api/v1/gateway/limits/api", `{"key":"ip","rate":"1r/s"}`), 201, `"version":2`)
	want(t, s.do(t, "PUT", "/api/v1/gateway/config", applyBody(next, 1)), 409, "at version 2, not 1")
	want(t, s.do(t, "GET", "/api/v1/gateway/limits/api", ""), 200, `"rate":"1r/s"`)
	// Against the current version it applies, listing the diff.
	r := s.do(t, "PUT", "/api/v1/gateway/config", applyBody(next, 2))
	want(t, r, 200, `"version":3`)
	want(t, r, 200, `{"kind":"route","name":"docs","op":"added"}`)
	want(t, r, 200, `{"kind":"limit","name":"api","op":"removed"}`)
	// The same config again changes nothing and writes no version.
	want(t, s.do(t, "PUT", "/api/v1/gateway/config", applyBody(next, 3)), 200, `"unchanged":true`)
	want(t, s.do(t, "GET", "/api/v1/gateway/history", ""), 200, `"action":"apply wharf.yaml"`)
	testenv.Eventually(t, 2*time.Second, func() error {
		if v := s.g.ConfigVersion(); v != 3 {
			return fmt.Errorf("gateway at version %d, want 3", v)
		}
		return nil
	})
}

func TestApplyAndRollbackRejectBadInput(t *testing.T) {
	s := newVersionServer(t)
	bad := startFile()
	bad.Limits[0].Rate = "0r/s"
	bad.Routes[0].Service = "nope"
	cases := []struct{ method, path, body, field string }{
		{"PUT", "/api/v1/gateway/config", applyBody(bad, 1), "config.limits[0].rate"},
		{"PUT", "/api/v1/gateway/config", applyBody(bad, 1), "config.routes[0].service"},
		{"PUT", "/api/v1/gateway/config", `{"if_version":1}`, "config: is required"},
		{"PUT", "/api/v1/gateway/config", `{"config":{}}`, "if_version: is required"},
		{"PUT", "/api/v1/gateway/config", `{"config":{},"if_version":1,"source":"a\nb"}`, "source:"},
		{"PUT", "/api/v1/gateway/config", `{"config":{"routes":"x"},"if_version":1}`, "routes"},
		{"PUT", "/api/v1/gateway/config", `{"config":{},"if_version":1,"bogus":1}`, "bogus"},
		{"POST", "/api/v1/gateway/rollback", `{"if_version":1}`, "version: is required"},
		{"POST", "/api/v1/gateway/rollback", `{"version":1}`, "if_version: is required"},
		{"POST", "/api/v1/gateway/rollback", `not json`, ""},
		{"GET", "/api/v1/gateway/history/abc", "", "version: must be a positive integer"},
		{"GET", "/api/v1/gateway/history/0", "", "version: must be a positive integer"},
	}
	for _, c := range cases {
		want(t, s.do(t, c.method, c.path, c.body), 400, c.field)
	}
	want(t, s.do(t, "GET", "/api/v1/gateway/history/7", ""), 404, "no such edge config version")
	want(t, s.do(t, "POST", "/api/v1/gateway/rollback", `{"version":7,"if_version":1}`), 404, "no such edge config version")
	if d, _, _ := s.es.Get(context.Background()); d.Version != 1 {
		t.Fatalf("rejected input must write nothing: version %d", d.Version)
	}
}

func TestRollbackRestoresAsANewVersion(t *testing.T) {
	s := newVersionServer(t)
	want(t, s.do(t, "PUT", "/api/v1/gateway/limits/per_ip", `{"key":"ip","rate":"1r/m","burst":20}`), 200, `"version":2`)
	want(t, s.do(t, "GET", "/api/v1/gateway/history/1", ""), 200, `"rate":"10r/s"`)
	want(t, s.do(t, "GET", "/api/v1/gateway/history/1", ""), 200, `"updated_by":"seed:wharf.yaml"`)
	want(t, s.do(t, "POST", "/api/v1/gateway/rollback", `{"version":1,"if_version":1}`), 409, "at version 2, not 1")
	r := s.do(t, "POST", "/api/v1/gateway/rollback", `{"version":1,"if_version":2}`)
	want(t, r, 200, `"version":3`)
	want(t, r, 200, `"fields":[{"field":"rate","old":"\"1r/m\"","new":"\"10r/s\""}]`)
	want(t, s.do(t, "GET", "/api/v1/gateway/limits/per_ip", ""), 200, `"rate":"10r/s"`)
	want(t, s.do(t, "GET", "/api/v1/gateway/history/2", ""), 200, `"rate":"1r/m"`)
	want(t, s.do(t, "GET", "/api/v1/gateway/history", ""), 200, `"action":"rollback to version 1"`)
	// Rolling back to what is stored already writes nothing.
	want(t, s.do(t, "POST", "/api/v1/gateway/rollback", `{"version":1,"if_version":3}`), 200, `"unchanged":true`)
}

// A whole-config apply or rollback follows the lock-out rule of the
// per-object changes: 409 naming the entry, unless forced.
func TestApplyAndRollbackRefuseLockOuts(t *testing.T) {
	s := newVersionServer(t)
	// The shop route shuts out loopback (the API routes stay open, so
	// the test can go on after forcing it).
	locked := startFile()
	locked.Routes[0].ACL.Deny = []string{"127.0.0.0/8"}
	r := s.as(t, "admin", "PUT", "/api/v1/gateway/config", applyBody(locked, 1))
	want(t, r, 409, "config.routes[0].acl.deny[0]: 127.0.0.0/8 would lock out 127.0.0.1")
	if v := s.configVersion(t); v != 1 {
		t.Fatalf("a refused apply wrote version %d", v)
	}
	b, _ := json.Marshal(map[string]any{"config": locked, "if_version": 1, "force": true})
	want(t, s.as(t, "admin", "PUT", "/api/v1/gateway/config", string(b)), 200, `"version":2`)
	// Back to the open config, then a rollback to the locked one is refused too.
	want(t, s.as(t, "admin", "PUT", "/api/v1/gateway/config", applyBody(startFile(), 2)), 200, `"version":3`)
	want(t, s.as(t, "admin", "POST", "/api/v1/gateway/rollback", `{"version":2,"if_version":3}`), 409, "would lock out 127.0.0.1")
	want(t, s.as(t, "admin", "POST", "/api/v1/gateway/rollback", `{"version":2,"if_version":3,"force":true}`), 200, `"version":4`)
}
