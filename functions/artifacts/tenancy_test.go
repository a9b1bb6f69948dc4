package artifacts_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/gateway/registry"
	"github.com/wharfhq/wharf/internal/config"
)

// sameAnswer compares two answers about two apps with the app names and
// the request ids taken out: a caller must not tell them apart.
func sameAnswer(t *testing.T, what string, a resp, appA string, b resp, appB string) {
	t.Helper()
	norm := func(r resp, app string) string {
		var m map[string]any
		if err := json.Unmarshal(r.body, &m); err != nil {
			t.Fatalf("%s: not JSON: %s", what, r)
		}
		delete(m, "request_id")
		s, _ := json.Marshal(m)
		return strings.ReplaceAll(string(s), app, "APP")
	}
	if a.status != b.status || norm(a, appA) != norm(b, appB) {
		t.Fatalf("%s: the answers differ:\n  %s: %s\n  %s: %s", what, appA, a, appB, b)
	}
}

// TestNotYoursAnswersLikeNotFound: a team that asks about another team's
// app gets exactly the answer it gets for an app nobody pushed (404), on
// every artifact route, so it cannot probe which app names exist or whose
// they are.
func TestNotYoursAnswersLikeNotFound(t *testing.T) {
	e := newEnv(t, envOptions{})
	want(t, e.push("cart", "1.0.0", e.tok["shop"], makeBundle(t, "cart", 100), ""), 201)
	routes := []struct{ method, path string }{
		{"GET", "/api/v1/apps/%s/artifacts"},
		{"GET", "/api/v1/apps/%s/artifacts/1.0.0"},
		{"GET", "/api/v1/apps/%s/artifacts/1.0.0/download"},
		{"GET", "/api/v1/apps/%s/artifacts/1.0.0/url"},
		{"DELETE", "/api/v1/apps/%s/artifacts/1.0.0"},
	}
	path := func(p, app string) string { return strings.Replace(p, "%s", app, 1) }
	for _, r := range routes {
		mine := e.do(r.method, path(r.path, "cart"), e.tok["other"], nil, nil)
		none := e.do(r.method, path(r.path, "ghost"), e.tok["other"], nil, nil)
		want(t, mine, 404, `app \"cart\" not found`)
		sameAnswer(t, "other team: "+r.method+" "+r.path, mine, "cart", none, "ghost")
		// An admin asking about a missing app gets the same shape.
		sameAnswer(t, "admin vs other: "+r.method+" "+r.path, e.do(r.method, path(r.path, "ghost"), e.admin, nil, nil), "ghost", none, "ghost")
		// A token without a team scope is refused whatever the app.
		want(t, e.do(r.method, path(r.path, "cart"), e.tok["ingest"], nil, nil), 403)
		sameAnswer(t, "ingest: "+r.method+" "+r.path, e.do(r.method, path(r.path, "cart"), e.tok["ingest"], nil, nil), "cart",
			e.do(r.method, path(r.path, "ghost"), e.tok["ingest"], nil, nil), "ghost")
		want(t, e.do(r.method, path(r.path, "cart"), "", nil, nil), 401)
	}
	// The owner and admin still see it; agents read it.
	want(t, e.do("GET", "/api/v1/apps/cart/artifacts/1.0.0", e.tok["shop"], nil, nil), 200)
	want(t, e.do("GET", "/api/v1/apps/cart/artifacts/1.0.0", e.admin, nil, nil), 200)
	want(t, e.do("GET", "/api/v1/apps/cart/artifacts/1.0.0/download", e.tok["agent"], nil, nil), 200)
	want(t, e.do("DELETE", "/api/v1/apps/cart/artifacts/1.0.0", e.tok["agent"], nil, nil), 403)
	// ... but only the apps deployed to its hosts: another is missing.
	want(t, e.push("misc", "1.0.0", e.tok["shop"], makeBundle(t, "misc", 100), ""), 201)
	sameAnswer(t, "agent of other hosts", e.do("GET", "/api/v1/apps/misc/artifacts/1.0.0/download", e.tok["agent"], nil, nil), "misc",
		e.do("GET", "/api/v1/apps/ghost/artifacts/1.0.0/download", e.tok["agent"], nil, nil), "ghost")
}

// TestPushIntoAnotherTeamsApp: pushing to an app another team owns is a
// 409 that names neither the owner nor its scope, and keeps nothing.
func TestPushIntoAnotherTeamsApp(t *testing.T) {
	e := newEnv(t, envOptions{})
	want(t, e.push("cart", "1.0.0", e.tok["shop"], makeBundle(t, "cart", 100), ""), 201)
	r := e.push("cart", "2.0.0", e.tok["other"], makeBundle(t, "cart", 100), "")
	want(t, r, 409, "another team")
	if strings.Contains(r.String(), "shop") {
		t.Fatalf("the refusal names the owner: %s", r)
	}
	e.nothingStored("cart", "2.0.0")
	want(t, e.push("cart", "2.0.0", e.tok["ingest"], makeBundle(t, "cart", 100), ""), 403)
	want(t, e.push("cart", "2.0.0", e.tok["agent"], makeBundle(t, "cart", 100), ""), 403)
	want(t, e.push("cart", "2.0.0", "", makeBundle(t, "cart", 100), ""), 401)
}

// TestReservedServiceNames: an app's first push cannot claim the name of a
// service an admin defined (in the edge config or with registry instances)
// unless the claiming team is named like it or was granted it.
func TestReservedServiceNames(t *testing.T) {
	e := newEnv(t, envOptions{reserve: true})
	ctx := context.Background()
	if _, err := e.edge.Update(ctx, "test", "seed", func(c *config.Edge) error {
		c.Services = []config.ServiceConfig{
			{Name: "billing", Instances: []config.InstanceConfig{{Addr: "127.0.0.1:9"}}},
			{Name: "payments", Team: "other"},
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := registry.New(e.st, registry.Options{}).Register(ctx, registry.Instance{Service: "legacy", ID: "l1", Addr: "127.0.0.1:9"}, 0); err != nil {
		t.Fatal(err)
	}
	for _, app := range []string{"billing", "legacy", "payments"} {
		want(t, e.push(app, "1.0.0", e.tok["shop"], makeBundle(t, app, 10), ""), 409, "reserved", app)
		e.nothingStored(app, "1.0.0")
		want(t, e.do("GET", "/api/v1/apps/"+app+"/artifacts", e.admin, nil, nil), 404)
	}
	// The team it was granted to claims it.
	r := e.push("payments", "1.0.0", e.tok["other"], makeBundle(t, "payments", 10), "")
	want(t, r, 201, `"team":"other"`)
	// An admin's push claims a reserved name for the team named like it.
	want(t, e.push("billing", "1.0.0", e.admin, makeBundle(t, "billing", 10), ""), 201, `"team":"billing"`)
	// Names nobody defined are first come, first served.
	want(t, e.push("cart", "1.0.0", e.tok["shop"], makeBundle(t, "cart", 10), ""), 201)
}
