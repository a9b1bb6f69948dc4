package admin_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/admin"
	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/store/buntstore"
)

// server is the admin function behind a real gateway, Mux and buntdb store,
// bootstrapped the way `wharf serve` does it.
type server struct {
	addr  string
	svc   *auth.Service
	st    *buntstore.Store
	admin string // the bootstrap admin token
}

func newServer(t *testing.T) *server {
	t.Helper()
	st, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	svc := auth.NewService(st)
	boot, err := svc.Bootstrap(context.Background(), filepath.Join(t.TempDir(), "admin.token"))
	if err != nil || boot == "" {
		t.Fatalf("Bootstrap = %q, %v", boot, err)
	}
	mux := fnapi.NewMux(svc, nil)
	if err := mux.Register(admin.New(svc, admin.Options{Version: "test", Nodes: st})); err != nil {
		t.Fatal(err)
	}
	g := gatewaytest.Start(t, gateway.Options{}, mux)
	return &server{addr: g.Addr().String(), svc: svc, st: st, admin: boot}
}

type response struct {
	status int
	header map[string]string
	body   []byte
}

func (s *server) do(t *testing.T, method, path, token, body string) response {
	t.Helper()
	hdr := map[string]string{}
	if token != "" {
		hdr["Authorization"] = "Bearer " + token
	}
	r := gatewaytest.Do(t, s.addr, method, path, hdr, body)
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

type errorBody struct {
	Error     string `json:"error"`
	RequestID string `json:"request_id"`
}

func wantError(t *testing.T, r response, status int, msg string) string {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header["Content-Type"]; ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	b := decode[errorBody](t, r)
	if !strings.Contains(b.Error, msg) {
		t.Fatalf("error %q, want it to contain %q", b.Error, msg)
	}
	if b.RequestID == "" || b.RequestID != r.header[gateway.HeaderRequestID] {
		t.Fatalf("request_id %q, header %q", b.RequestID, r.header[gateway.HeaderRequestID])
	}
	return b.Error
}

type whoami struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Scopes        []string `json:"scopes"`
	Teams         []string `json:"teams"`
	ServerVersion string   `json:"server_version"`
}

type created struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	Token     string    `json:"token"`
}

// create makes a token through the API and checks the 201.
func (s *server) create(t *testing.T, body string) created {
	t.Helper()
	r := s.do(t, "POST", "/api/v1/tokens", s.admin, body)
	if r.status != 201 {
		t.Fatalf("POST /api/v1/tokens %s: %d %s", body, r.status, r.body)
	}
	if strings.Contains(string(r.body), `"hash"`) {
		t.Fatalf("create response carries a hash: %s", r.body)
	}
	c := decode[created](t, r)
	if c.ID == "" || !strings.HasPrefix(c.Token, "wharf_"+c.ID+"_") {
		t.Fatalf("created %+v", c)
	}
	return c
}

func TestWhoamiBootstrapAdmin(t *testing.T) {
	s := newServer(t)
	r := s.do(t, "GET", "/api/v1/whoami", s.admin, "")
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	w := decode[whoami](t, r)
	if w.Name != "admin" || !slices.Equal(w.Scopes, []string{"admin"}) || w.ID == "" {
		t.Fatalf("whoami %+v", w)
	}
	if r.header["Content-Type"] != "application/json" {
		t.Fatalf("Content-Type %q", r.header["Content-Type"])
	}
	if strings.Contains(string(r.body), s.admin) || strings.Contains(string(r.body), "hash") {
		t.Fatalf("whoami echoes secrets: %s", r.body)
	}
}

// Every scope may ask who it is (wharf login checks a token that way): the
// answer names the token, its scopes and teams and the server's version,
// never a secret.
func TestWhoamiAnswersEveryScope(t *testing.T) {
	s := newServer(t)
	for _, c := range []struct {
		body  string
		teams []string
	}{
		{`{"team":"shop"}`, []string{"shop"}},
		{`{"name":"two","scopes":["team:a","team:b"]}`, []string{"a", "b"}},
		{`{"name":"agent1","scopes":["agent"]}`, []string{}},
		{`{"name":"ingest1","scopes":["ingest"]}`, []string{}},
	} {
		tok := s.create(t, c.body)
		r := s.do(t, "GET", "/api/v1/whoami", tok.Token, "")
		if r.status != 200 {
			t.Fatalf("%s: %d %s", c.body, r.status, r.body)
		}
		w := decode[whoami](t, r)
		if w.ID != tok.ID || w.Name != tok.Name || !slices.Equal(w.Scopes, tok.Scopes) || !slices.Equal(w.Teams, c.teams) || w.ServerVersion != "test" {
			t.Errorf("%s: whoami %+v", c.body, w)
		}
		if strings.Contains(string(r.body), tok.Token) || strings.Contains(string(r.body), "hash") {
			t.Errorf("whoami echoes secrets: %s", r.body)
		}
	}
}

func TestWhoamiWithoutToken(t *testing.T) {
	s := newServer(t)
	wantError(t, s.do(t, "GET", "/api/v1/whoami", "", ""), 401, "missing bearer token")
	r := s.do(t, "GET", "/api/v1/whoami", "wharf_nope", "")
	wantError(t, r, 401, "invalid or revoked token")
	if r.header["Www-Authenticate"] != `Bearer realm="wharf"` {
		t.Fatalf("WWW-Authenticate %q", r.header["Www-Authenticate"])
	}
}

func TestTokenLifecycle(t *testing.T) {
	s := newServer(t)

	// An admin creates a team token; the plaintext is shown once.
	shop := s.create(t, `{"team":"shop"}`)
	if shop.Name != "shop" || !slices.Equal(shop.Scopes, []string{"team:shop"}) || shop.CreatedBy != "admin" || shop.CreatedAt.IsZero() {
		t.Fatalf("created %+v", shop)
	}
	w := decode[whoami](t, s.do(t, "GET", "/api/v1/whoami", shop.Token, ""))
	if w.ID != shop.ID || w.Name != "shop" || !slices.Equal(w.Scopes, []string{"team:shop"}) {
		t.Fatalf("whoami as the team token: %+v", w)
	}

	// A team token cannot manage tokens.
	wantError(t, s.do(t, "POST", "/api/v1/tokens", shop.Token, `{"team":"evil","scopes":["admin"]}`), 403, "lacks scope")
	wantError(t, s.do(t, "GET", "/api/v1/tokens", shop.Token, ""), 403, "lacks scope")
	wantError(t, s.do(t, "DELETE", "/api/v1/tokens/"+shop.ID, shop.Token, ""), 403, "lacks scope")

	// Name, scopes and team together; the team is added to the scopes.
	ci := s.create(t, `{"name":"shop-ci","scopes":["agent","team:shop"],"team":"blog"}`)
	if ci.Name != "shop-ci" || !slices.Equal(ci.Scopes, []string{"agent", "team:blog", "team:shop"}) {
		t.Fatalf("created %+v", ci)
	}

	// The list shows every token without secrets or hashes.
	r := s.do(t, "GET", "/api/v1/tokens", s.admin, "")
	if r.status != 200 {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	for _, secret := range []string{s.admin, shop.Token, ci.Token, shop.Token[len("wharf_")+17:]} {
		if strings.Contains(string(r.body), secret) {
			t.Fatalf("list leaks a token: %s", r.body)
		}
	}
	var raw struct {
		Tokens []map[string]any `json:"tokens"`
	}
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw.Tokens) != 3 {
		t.Fatalf("list has %d tokens, want 3: %s", len(raw.Tokens), r.body)
	}
	names := map[string]string{}
	for _, tk := range raw.Tokens {
		for _, k := range []string{"hash", "token", "secret"} {
			if _, ok := tk[k]; ok {
				t.Fatalf("listed token has %q: %v", k, tk)
			}
		}
		names[tk["id"].(string)] = tk["name"].(string)
	}
	adminID := decode[whoami](t, s.do(t, "GET", "/api/v1/whoami", s.admin, "")).ID
	if names[adminID] != "admin" || names[shop.ID] != "shop" || names[ci.ID] != "shop-ci" {
		t.Fatalf("listed names %v", names)
	}

	// Revoke: 204, then the token is dead everywhere.
	r = s.do(t, "DELETE", "/api/v1/tokens/"+shop.ID, s.admin, "")
	if r.status != 204 || len(r.body) != 0 {
		t.Fatalf("revoke: %d %q", r.status, r.body)
	}
	wantError(t, s.do(t, "GET", "/api/v1/whoami", shop.Token, ""), 401, "invalid or revoked token")
	wantError(t, s.do(t, "DELETE", "/api/v1/tokens/"+shop.ID, s.admin, ""), 404, "not found")
	wantError(t, s.do(t, "DELETE", "/api/v1/tokens/0000000000000000", s.admin, ""), 404, `token "0000000000000000" not found`)
	wantError(t, s.do(t, "DELETE", "/api/v1/tokens/no-such-token", s.admin, ""), 404, "not found")

	// The bootstrap admin is the last admin: 409, and it keeps working.
	wantError(t, s.do(t, "DELETE", "/api/v1/tokens/"+adminID, s.admin, ""), 409, "last admin token")
	if r := s.do(t, "GET", "/api/v1/whoami", s.admin, ""); r.status != 200 {
		t.Fatalf("admin after refused revoke: %d", r.status)
	}

	// With a second admin, the first can go (even revoking itself).
	second := s.create(t, `{"name":"ops","scopes":["admin"]}`)
	if r := s.do(t, "DELETE", "/api/v1/tokens/"+adminID, s.admin, ""); r.status != 204 {
		t.Fatalf("revoke first admin: %d %s", r.status, r.body)
	}
	wantError(t, s.do(t, "GET", "/api/v1/tokens", s.admin, ""), 401, "invalid or revoked token")
	wantError(t, s.do(t, "DELETE", "/api/v1/tokens/"+second.ID, second.Token, ""), 409, "last admin token")
	list := decode[struct {
		Tokens []created `json:"tokens"`
	}](t, s.do(t, "GET", "/api/v1/tokens", second.Token, ""))
	if len(list.Tokens) != 2 {
		t.Fatalf("after revokes: %+v", list.Tokens)
	}
}

func TestCreateRejectsBadBodies(t *testing.T) {
	s := newServer(t)
	tests := []struct {
		name, body, want string
	}{
		{"no body", "", "request body must be a JSON object"},
		{"not JSON", "team=shop", "invalid JSON"},
		{"unknown field", `{"team":"shop","admin":true}`, `unknown field "admin"`},
		{"misspelled field", `{"teams":"shop"}`, `unknown field "teams"`},
		{"scopes not a list", `{"name":"x","scopes":"admin"}`, `field "scopes"`},
		{"bad scope", `{"name":"x","scopes":["root"]}`, `unknown scope "root"`},
		{"bad team scope", `{"name":"x","scopes":["team:Shop!"]}`, `invalid team name "Shop!"`},
		{"bad team", `{"team":"Shop!"}`, `invalid team name "Shop!"`},
		{"team with space", `{"team":"my shop"}`, `invalid team name "my shop"`},
		{"empty name and no team", `{"scopes":["agent"]}`, "name is required"},
		{"empty object", `{}`, "name is required"},
		{"explicit empty name", `{"name":"","scopes":["agent"]}`, "name is required"},
		{"name but no scopes", `{"name":"x"}`, "at least one scope"},
		{"bad name", `{"name":"X Y","scopes":["agent"]}`, `invalid token name "X Y"`},
		{"long name", `{"name":"` + strings.Repeat("a", 64) + `","scopes":["agent"]}`, "invalid token name"},
		{"two objects", `{"team":"a"}{"team":"b"}`, "one JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, s.do(t, "POST", "/api/v1/tokens", s.admin, tt.body), 400, tt.want)
		})
	}
	// None of them created anything.
	toks, err := s.svc.List(context.Background())
	if err != nil || len(toks) != 1 {
		t.Fatalf("tokens after bad requests: %+v, %v", toks, err)
	}
}

func TestMethodsAndPaths(t *testing.T) {
	s := newServer(t)
	r := s.do(t, "PUT", "/api/v1/tokens", s.admin, "")
	wantError(t, r, 405, "not allowed")
	if r.header["Allow"] != "GET, POST" {
		t.Fatalf("Allow %q", r.header["Allow"])
	}
	r = s.do(t, "GET", "/api/v1/tokens/abc", s.admin, "")
	wantError(t, r, 405, "not allowed")
	if r.header["Allow"] != "DELETE" {
		t.Fatalf("Allow %q", r.header["Allow"])
	}
	wantError(t, s.do(t, "POST", "/api/v1/whoami", s.admin, ""), 405, "not allowed")
	wantError(t, s.do(t, "GET", "/api/v1/whoami/x", s.admin, ""), 404, "no route")
	wantError(t, s.do(t, "GET", "/api/v2/whoami", s.admin, ""), 404, "no route")
	// A trailing slash is the same route.
	if r := s.do(t, "GET", "/api/v1/tokens/", s.admin, ""); r.status != 200 {
		t.Fatalf("GET /api/v1/tokens/: %d %s", r.status, r.body)
	}
	// HEAD works where GET does.
	if r := s.do(t, "HEAD", "/api/v1/whoami", s.admin, ""); r.status != 200 || len(r.body) != 0 {
		t.Fatalf("HEAD whoami: %d %q", r.status, r.body)
	}
}

func TestRoutesAreComplete(t *testing.T) {
	f := admin.New(nil, admin.Options{})
	if f.Name() != "admin" {
		t.Fatalf("name %q", f.Name())
	}
	want := map[string]bool{
		"GET /api/v1/whoami": false, "POST /api/v1/tokens": true, "GET /api/v1/tokens": true, "DELETE /api/v1/tokens/{id}": true,
		"GET /api/v1/nodes": true,
	}
	routes := f.Routes()
	if len(routes) != len(want) {
		t.Fatalf("%d routes", len(routes))
	}
	for _, r := range routes {
		adminOnly, ok := want[r.Method+" "+r.Pattern]
		if !ok || r.Handler == nil || r.Access.Public {
			t.Fatalf("unexpected route %s %s", r.Method, r.Pattern)
		}
		var need []string
		if r.Access.Scopes != nil {
			need = r.Access.Scopes(nil)
		}
		if got := slices.Equal(need, []string{auth.ScopeAdmin}); got != adminOnly {
			t.Fatalf("%s %s needs %q", r.Method, r.Pattern, need)
		}
	}
}

func TestStoreDownIs503(t *testing.T) {
	s := newServer(t)
	if err := s.st.Close(); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/v1/whoami", "/api/v1/nodes"} {
		msg := wantError(t, s.do(t, "GET", path, s.admin, ""), 503, "store unavailable")
		if strings.Contains(msg, "closed") {
			t.Fatalf("%s: 503 leaks the cause: %q", path, msg)
		}
	}
}
