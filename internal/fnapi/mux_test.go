package fnapi

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/httperr"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, path string
		ok            bool
		want          Params
	}{
		{"/", "/", true, nil},
		{"/", "", true, nil},
		{"/", "/x", false, nil},
		{"/a", "/a", true, nil},
		{"/a", "/a/", true, nil},
		{"/a", "a", true, nil},
		{"/a", "/b", false, nil},
		{"/a", "/", false, nil},
		{"/a", "/ab", false, nil},
		{"/ab", "/a", false, nil},
		{"/a", "/A", false, nil},
		{"/a/b", "/a", false, nil},
		{"/a/b", "/a/", false, nil},
		{"/a", "/a/b", false, nil},
		{"/a/b", "/a/b/c", false, nil},
		{"/a/b", "/a//b", false, nil},
		{"/a/{id}", "/a/42", true, Params{{"id", "42"}}},
		{"/a/{id}", "/a/42/", true, Params{{"id", "42"}}},
		{"/a/{id}", "/a/", false, nil},
		{"/a/{id}", "/a", false, nil},
		{"/a/{id}", "/a//", false, nil},
		{"/a/{id}", "/a/42/x", false, nil},
		{"/a/{id}", "/b/42", false, nil},
		{"/a/{id}/c", "/a/42/c", true, Params{{"id", "42"}}},
		{"/a/{id}/c", "/a/42/d", false, nil},
		{"/a/{id}/c", "/a//c", false, nil},
		{"/{x}/{y}", "/1/2", true, Params{{"x", "1"}, {"y", "2"}}},
		{"/{x}/{y}", "/1", false, nil},
		{"/{x}", "/{x}", true, Params{{"x", "{x}"}}},
		{"/a/{}", "/a/{}", true, nil}, // "{}" is not a parameter, just a literal
		{"/a/{}", "/a/x", false, nil},
		{"/a/{id}", "/a/hello world", true, Params{{"id", "hello world"}}},
		{"/a/{id}", "/a/é", true, Params{{"id", "é"}}},
	}
	for _, tt := range tests {
		got, ok := match(split(tt.pattern), tt.path)
		if ok != tt.ok || ok && !slices.Equal(got, tt.want) {
			t.Errorf("match(%q, %q) = %v, %v; want %v, %v", tt.pattern, tt.path, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParamsGet(t *testing.T) {
	ps := Params{{"team", "shop"}, {"app", "web"}}
	if ps.Get("team") != "shop" || ps.Get("app") != "web" || ps.Get("nope") != "" {
		t.Fatalf("Get on %v", ps)
	}
	if Params(nil).Get("x") != "" {
		t.Fatal("Get on nil params")
	}
}

func TestRegisterRejects(t *testing.T) {
	h := reply("x")
	tests := []struct {
		name   string
		first  []Route
		second []Route
		want   string
	}{
		{"nil handler", nil, []Route{{Method: "GET", Pattern: "/a"}}, "incomplete route"},
		{"no method", nil, []Route{{Pattern: "/a", Handler: h}}, "incomplete route"},
		{"relative pattern", nil, []Route{{Method: "GET", Pattern: "a", Handler: h}}, "incomplete route"},
		{"same route twice in one function", nil, []Route{{Method: "GET", Pattern: "/a", Handler: h}, {Method: "GET", Pattern: "/a", Handler: h}}, "already registered by second"},
		{"same route in two functions", []Route{{Method: "GET", Pattern: "/a/{id}", Handler: h}}, []Route{{Method: "GET", Pattern: "/a/{id}", Handler: h}}, "already registered by first"},
		{"param names differ", []Route{{Method: "GET", Pattern: "/a/{id}", Handler: h}}, []Route{{Method: "GET", Pattern: "/a/{name}", Handler: h}}, "already registered by first"},
		{"trailing slash is the same route", []Route{{Method: "GET", Pattern: "/a/b", Handler: h}}, []Route{{Method: "GET", Pattern: "/a/b/", Handler: h}}, "already registered by first"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMux(nil, nil)
			if err := m.Register(testFunction{"first", tt.first}); err != nil {
				t.Fatal(err)
			}
			err := m.Register(testFunction{"second", tt.second})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Register = %v, want error containing %q", err, tt.want)
			}
		})
	}
}

func TestRegisterAccepts(t *testing.T) {
	h := reply("x")
	m := NewMux(nil, nil)
	err := m.Register(testFunction{"f", []Route{
		{Method: "GET", Pattern: "/a/{id}", Handler: h},
		{Method: "POST", Pattern: "/a/{id}", Handler: h},  // other method
		{Method: "GET", Pattern: "/a/new", Handler: h},    // literal next to a parameter
		{Method: "GET", Pattern: "/a/{id}/x", Handler: h}, // longer
		{Method: "GET", Pattern: "/{kind}/b", Handler: h}, // overlaps /a/{id} but is not the same pattern
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.routes) != 5 {
		t.Fatalf("%d routes registered", len(m.routes))
	}
}

func TestServeReportsNoMatch(t *testing.T) {
	m := NewMux(nil, nil)
	if err := m.Register(testFunction{"f", []Route{{Method: "GET", Pattern: "/a", Access: Public(), Handler: reply("a")}}}); err != nil {
		t.Fatal(err)
	}
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/b")
	if m.Serve(&ctx, "rid") {
		t.Fatal("Serve claimed a request no route matches")
	}
	ctx.Request.SetRequestURI("/a")
	if !m.Serve(&ctx, "rid") || ctx.Response.StatusCode() != 200 {
		t.Fatalf("Serve /a: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
}

// routingFunctions registers overlapping routes; the literal ones are
// registered after the parameter ones, in a different function.
func routingFunctions() []Function {
	return []Function{
		testFunction{"params", []Route{
			{Method: "GET", Pattern: "/things/{name}", Access: Public(), Handler: reply("thing")},
			{Method: "POST", Pattern: "/things/{name}", Access: Public(), Handler: reply("thing-post")},
			{Method: "GET", Pattern: "/teams/{team}/apps/{app}", Access: Public(), Handler: reply("app")},
			{Method: "GET", Pattern: "/{kind}/{name}/info", Access: Public(), Handler: reply("generic-info")},
		}},
		testFunction{"literals", []Route{
			{Method: "GET", Pattern: "/things/special", Access: Public(), Handler: reply("special")},
			{Method: "PUT", Pattern: "/things/only-put", Access: Public(), Handler: reply("only-put")},
			{Method: "GET", Pattern: "/teams/{team}/apps/new", Access: Public(), Handler: reply("app-new")},
			{Method: "GET", Pattern: "/things/{name}/info", Access: Public(), Handler: reply("thing-info")},
			{Method: "GET", Pattern: "/", Access: Public(), Handler: reply("root")},
		}},
	}
}

func TestMuxRoutingOverHTTP(t *testing.T) {
	e := newEnv(t, routingFunctions()...)
	tests := []struct {
		method, path string
		route        string
		params       map[string]string
	}{
		{"GET", "/", "root", nil},
		{"GET", "/things/x", "thing", map[string]string{"name": "x"}},
		{"GET", "/things/x/", "thing", map[string]string{"name": "x"}},
		{"POST", "/things/x", "thing-post", map[string]string{"name": "x"}},
		{"GET", "/things/special", "special", nil},
		{"GET", "/things/special/", "special", nil},
		{"POST", "/things/special", "thing-post", map[string]string{"name": "special"}},
		{"GET", "/things/only-put", "thing", map[string]string{"name": "only-put"}},
		{"PUT", "/things/only-put", "only-put", nil},
		{"GET", "/teams/shop/apps/web", "app", map[string]string{"team": "shop", "app": "web"}},
		{"GET", "/teams/shop/apps/new", "app-new", map[string]string{"team": "shop"}},
		{"GET", "/things/x/info", "thing-info", map[string]string{"name": "x"}},
		{"GET", "/others/x/info", "generic-info", map[string]string{"kind": "others", "name": "x"}},
		// Percent-escapes are decoded exactly once.
		{"GET", "/things/hello%20world", "thing", map[string]string{"name": "hello world"}},
		{"GET", "/things/caf%C3%A9", "thing", map[string]string{"name": "café"}},
		{"GET", "/things/100%25", "thing", map[string]string{"name": "100%"}},
		{"GET", "/things/a%2525b", "thing", map[string]string{"name": "a%25b"}},
		{"GET", "/things/%7Bname%7D", "thing", map[string]string{"name": "{name}"}},
		{"GET", "/things/x?name=y&z=1", "thing", map[string]string{"name": "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := e.do(t, tt.method, tt.path, "", "")
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			b := decode[replyBody](t, r)
			if b.Route != tt.route {
				t.Fatalf("routed to %q, want %q", b.Route, tt.route)
			}
			if len(b.Params) != len(tt.params) {
				t.Fatalf("params %v, want %v", b.Params, tt.params)
			}
			for k, v := range tt.params {
				if b.Params[k] != v {
					t.Fatalf("param %s = %q, want %q", k, b.Params[k], v)
				}
			}
			if b.RequestID == "" || b.RequestID != r.header["X-Request-Id"] {
				t.Fatalf("handler request id %q, header %q", b.RequestID, r.header["X-Request-Id"])
			}
		})
	}
}

func TestMuxNoPartialMatches(t *testing.T) {
	e := newEnv(t, routingFunctions()...)
	for _, path := range []string{
		"/things",
		"/things/",
		"/things/x/y",
		"/thing/x",
		"/thingsx/y",
		"/Things/x",
		"/things/x/info/more",
		"/teams/shop/apps",
		"/teams/shop/apps/web/x",
		"/teams//apps/web",
	} {
		r := e.do(t, "GET", path, "", "")
		wantError(t, r, 404, "no route")
	}
}

func TestMux405(t *testing.T) {
	e := newEnv(t, routingFunctions()...)
	tests := []struct {
		method, path, allow string
	}{
		{"DELETE", "/things/x", "GET, POST"},
		{"PATCH", "/things/x/", "GET, POST"},
		{"DELETE", "/things/special", "GET, POST"},
		{"POST", "/things/only-put", "POST"}, // the POST param route serves it
		{"DELETE", "/things/only-put", "GET, POST, PUT"},
		{"POST", "/teams/shop/apps/web", "GET"},
		{"POST", "/", "GET"},
	}
	for _, tt := range tests {
		r := e.do(t, tt.method, tt.path, "", "")
		if tt.allow == "POST" {
			if r.status != 200 || decode[replyBody](t, r).Route != "thing-post" {
				t.Fatalf("%s %s: %d %s", tt.method, tt.path, r.status, r.body)
			}
			continue
		}
		b := wantError(t, r, 405, "method "+tt.method+" not allowed")
		if got := r.header["Allow"]; got != tt.allow {
			t.Errorf("%s %s: Allow %q, want %q", tt.method, tt.path, got, tt.allow)
		}
		if !strings.Contains(b.Error, tt.allow) {
			t.Errorf("%s %s: error %q does not name the allowed methods", tt.method, tt.path, b.Error)
		}
	}
}

func TestMux405ListsEachMethodOnce(t *testing.T) {
	h := reply("x")
	e := newEnv(t, testFunction{"f", []Route{
		{Method: "GET", Pattern: "/a/{id}", Access: Public(), Handler: h},
		{Method: "GET", Pattern: "/{kind}/b", Access: Public(), Handler: h},
		{Method: "POST", Pattern: "/{kind}/{id}", Access: Public(), Handler: h},
	}})
	r := e.do(t, "DELETE", "/a/b", "", "")
	wantError(t, r, 405, "not allowed")
	if got := r.header["Allow"]; got != "GET, POST" {
		t.Fatalf("Allow %q, want %q", got, "GET, POST")
	}
}

func TestMuxHeadOnGetRoute(t *testing.T) {
	e := newEnv(t, append(routingFunctions(), testFunction{"auth", []Route{
		{Method: "GET", Pattern: "/private", Access: AnyToken(), Handler: reply("private")},
	}})...)
	get := e.do(t, "GET", "/things/x", "", "")
	head := e.do(t, "HEAD", "/things/x", "", "")
	if head.status != 200 || len(head.body) != 0 {
		t.Fatalf("HEAD: %d %q", head.status, head.body)
	}
	if head.header["Content-Type"] != get.header["Content-Type"] {
		t.Fatalf("HEAD Content-Type %q, GET %q", head.header["Content-Type"], get.header["Content-Type"])
	}
	// HEAD on a route without GET is 405; HEAD still checks tokens.
	if r := e.do(t, "HEAD", "/things/only-put/x", "", ""); r.status != 404 {
		t.Fatalf("HEAD unknown path: %d", r.status)
	}
	r := e.do(t, "HEAD", "/private", "", "")
	if r.status != 401 || r.header["Www-Authenticate"] == "" {
		t.Fatalf("HEAD without token: %d %v", r.status, r.header)
	}
	if r := e.do(t, "HEAD", "/private", e.shop, ""); r.status != 200 {
		t.Fatalf("HEAD with token: %d", r.status)
	}
}

// authFunctions has routes for every kind of access.
func authFunctions() Function {
	return testFunction{"authz", []Route{
		{Method: "GET", Pattern: "/public", Access: Public(), Handler: reply("public")},
		{Method: "GET", Pattern: "/any", Access: AnyToken(), Handler: reply("any")},
		{Method: "GET", Pattern: "/admin", Access: AdminOnly(), Handler: reply("admin")},
		{Method: "GET", Pattern: "/agent", Access: Access{Scopes: func(Params) []string { return []string{auth.ScopeAgent} }}, Handler: reply("agent")},
		{Method: "GET", Pattern: "/teams/{team}/apps", Access: Access{Scopes: func(p Params) []string {
			return []string{auth.TeamScope(p.Get("team"))}
		}}, Handler: reply("team-apps")},
		{Method: "GET", Pattern: "/empty-scopes", Access: Access{Scopes: func(Params) []string { return nil }}, Handler: reply("empty")},
	}}
}

func TestMuxMissingToken(t *testing.T) {
	for _, cached := range []bool{false, true} {
		t.Run(fmt.Sprintf("cached=%v", cached), func(t *testing.T) { testMuxMissingToken(t, cached) })
	}
}

func testMuxMissingToken(t *testing.T, cached bool) {
	e := newEnvWith(t, cached, authFunctions())
	for _, path := range []string{"/any", "/admin", "/agent", "/teams/shop/apps", "/empty-scopes"} {
		for _, hdr := range []map[string]string{
			nil,
			{"Authorization": "Bearer"},
			{"Authorization": "Bearer    "},
			{"Authorization": "Basic cm9vdDpyb290"},
			{"Authorization": e.admin}, // no scheme
			{"X-Token": e.admin},
		} {
			r := e.doHeader(t, "GET", path, hdr, "")
			wantError(t, r, 401, "missing bearer token")
			if got := r.header["Www-Authenticate"]; got != `Bearer realm="wharf"` {
				t.Fatalf("GET %s %v: WWW-Authenticate %q", path, hdr, got)
			}
		}
	}
}

func TestMuxBadToken(t *testing.T) {
	for _, cached := range []bool{false, true} {
		t.Run(fmt.Sprintf("cached=%v", cached), func(t *testing.T) { testMuxBadToken(t, cached) })
	}
}

func testMuxBadToken(t *testing.T, cached bool) {
	e := newEnvWith(t, cached, authFunctions())
	_, unknown, err := auth.NewService(e.st).Create(t.Context(), auth.CreateRequest{Name: "gone", Scopes: []string{auth.ScopeAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	var id string
	toks, _ := e.svc.List(t.Context())
	for _, tk := range toks {
		if tk.Name == "gone" {
			id = tk.ID
		}
	}
	if err := e.svc.Revoke(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	wrongSecret := e.admin[:len(e.admin)-4] + "0000"
	if wrongSecret == e.admin {
		wrongSecret = e.admin[:len(e.admin)-4] + "1111"
	}
	for _, tok := range []string{"nonsense", strings.ToUpper(e.admin), wrongSecret, unknown, e.admin + "x"} {
		for _, path := range []string{"/any", "/admin"} {
			r := e.do(t, "GET", path, tok, "")
			b := wantError(t, r, 401, "invalid or revoked token")
			if r.header["Www-Authenticate"] != `Bearer realm="wharf"` {
				t.Fatalf("WWW-Authenticate %q", r.header["Www-Authenticate"])
			}
			if strings.Contains(b.Error, tok) {
				t.Fatalf("error echoes the token: %q", b.Error)
			}
		}
	}
}

func TestMuxScopes(t *testing.T) {
	for _, cached := range []bool{false, true} {
		t.Run(fmt.Sprintf("cached=%v", cached), func(t *testing.T) { testMuxScopes(t, cached) })
	}
}

func testMuxScopes(t *testing.T, cached bool) {
	e := newEnvWith(t, cached, authFunctions())
	tests := []struct {
		path   string
		token  string
		status int
		caller string
	}{
		{"/public", "", 200, ""},
		{"/public", "garbage", 200, ""},
		{"/any", e.shop, 200, "shop"},
		{"/any", e.agent, 200, "agent-1"},
		{"/empty-scopes", e.blog, 200, "blog"},
		{"/admin", e.shop, 403, ""},
		{"/admin", e.agent, 403, ""},
		{"/agent", e.agent, 200, "agent-1"},
		{"/agent", e.shop, 403, ""},
		{"/teams/shop/apps", e.shop, 200, "shop"},
		{"/teams/shop/apps", e.blog, 403, ""},
		{"/teams/blog/apps", e.blog, 200, "blog"},
		{"/teams/blog/apps", e.shop, 403, ""},
		{"/teams/blog/apps", e.agent, 403, ""},
		// Admin passes everything.
		{"/any", e.admin, 200, "root"},
		{"/admin", e.admin, 200, "root"},
		{"/agent", e.admin, 200, "root"},
		{"/teams/shop/apps", e.admin, 200, "root"},
		{"/teams/anyone/apps", e.admin, 200, "root"},
		{"/empty-scopes", e.admin, 200, "root"},
	}
	for _, tt := range tests {
		r := e.do(t, "GET", tt.path, tt.token, "")
		if tt.status == 403 {
			b := wantError(t, r, 403, "lacks scope")
			if _, ok := r.header["Www-Authenticate"]; ok {
				t.Errorf("403 carries a WWW-Authenticate challenge")
			}
			if !strings.Contains(b.Error, "need one of") {
				t.Errorf("403 %q does not say what is needed", b.Error)
			}
			continue
		}
		if r.status != tt.status {
			t.Fatalf("GET %s as %q: %d %s", tt.path, tt.caller, r.status, r.body)
		}
		if got := decode[replyBody](t, r).Caller; got != tt.caller {
			t.Fatalf("GET %s: handler saw caller %q, want %q", tt.path, got, tt.caller)
		}
	}
	// The 403 names the missing scope.
	r := e.do(t, "GET", "/teams/blog/apps", e.shop, "")
	wantError(t, r, 403, `token "shop" lacks scope: need one of team:blog`)
}

func TestMuxStoreDownIs503(t *testing.T) {
	e := newEnv(t, authFunctions())
	if err := e.st.Close(); err != nil {
		t.Fatal(err)
	}
	b := wantError(t, e.do(t, "GET", "/any", e.admin, ""), 503, "store unavailable")
	if strings.Contains(b.Error, "closed") {
		t.Fatalf("503 leaks the cause: %q", b.Error)
	}
	// Public routes do not need the store; malformed tokens never reach it.
	if r := e.do(t, "GET", "/public", "", ""); r.status != 200 {
		t.Fatalf("public route with store down: %d", r.status)
	}
	wantError(t, e.do(t, "GET", "/any", "garbage", ""), 401, "invalid or revoked")
}

func TestMuxHandlerErrors(t *testing.T) {
	e := newEnv(t, testFunction{"errs", []Route{
		{Method: "GET", Pattern: "/panic", Access: AnyToken(), Handler: func(*Request) error { panic("boom: secret detail") }},
		{Method: "GET", Pattern: "/panic-nil-map", Access: Public(), Handler: func(*Request) error {
			var m map[string]int
			m["x"]++
			return nil
		}},
		{Method: "GET", Pattern: "/plain-error", Access: Public(), Handler: func(*Request) error { return errors.New("db exploded: secret detail") }},
		{Method: "GET", Pattern: "/typed-error", Access: Public(), Handler: func(*Request) error {
			return httperr.Conflict("thing %q exists", "x")
		}},
		{Method: "GET", Pattern: "/wrapped-typed", Access: Public(), Handler: func(*Request) error {
			return errors.Join(errors.New("ctx"), httperr.NotFound("no such thing"))
		}},
		{Method: "GET", Pattern: "/ok", Access: Public(), Handler: reply("ok")},
	}})
	for _, path := range []string{"/panic", "/panic-nil-map", "/plain-error"} {
		b := wantError(t, e.do(t, "GET", path, e.admin, ""), 500, "internal error")
		if strings.Contains(b.Error, "secret") || strings.Contains(b.Error, "panic") {
			t.Fatalf("500 leaks details: %q", b.Error)
		}
	}
	wantError(t, e.do(t, "GET", "/typed-error", "", ""), 409, `thing "x" exists`)
	wantError(t, e.do(t, "GET", "/wrapped-typed", "", ""), 404, "no such thing")
	// The panic did not take the server down.
	if r := e.do(t, "GET", "/ok", "", ""); r.status != 200 {
		t.Fatalf("after panics: %d", r.status)
	}
	// A panicking route still requires a token first.
	wantError(t, e.do(t, "GET", "/panic", "", ""), 401, "missing bearer token")
}
