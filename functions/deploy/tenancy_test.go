package deploy_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/testenv"
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

// TestDeployNotYoursAnswersLikeNotFound: every deploy route answers a team
// asking about another team's app exactly as about an app nobody pushed.
func TestDeployNotYoursAnswersLikeNotFound(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.push("shop", "1.0.0")
	e.startAgent("h1", "bj", nil)
	d := e.deploy(`{"version":"1.0.0","targets":{"hosts":["h1"]}}`)
	routes := []struct{ method, path, body string }{
		{"GET", "/api/v1/apps/%s/deploys", ""},
		{"GET", "/api/v1/apps/%s/deploys/" + d.ID, ""},
		{"POST", "/api/v1/apps/%s/deploys", `{"version":"1.0.0","targets":{"all":true}}`},
		{"POST", "/api/v1/apps/%s/deploys/" + d.ID + "/pause", ""},
		{"POST", "/api/v1/apps/%s/deploys/" + d.ID + "/abort", ""},
		{"POST", "/api/v1/apps/%s/rollback", ""},
	}
	for _, r := range routes {
		p := func(app string) string { return strings.Replace(r.path, "%s", app, 1) }
		var body any
		if r.body != "" {
			body = r.body
		}
		mine := e.do(r.method, p("shop"), e.tok["other"], body)
		want(t, mine, 404, `app \"shop\" not found`)
		sameAnswer(t, "other team: "+r.method+" "+r.path, mine, "shop", e.do(r.method, p("ghost"), e.tok["other"], body), "ghost")
		sameAnswer(t, "admin vs other: "+r.method+" "+r.path, e.do(r.method, p("ghost"), e.admin, body), "ghost", mine, "shop")
		want(t, e.do(r.method, p("shop"), e.tok["ingest"], body), 403)
		sameAnswer(t, "ingest: "+r.method+" "+r.path, e.do(r.method, p("shop"), e.tok["ingest"], body), "shop",
			e.do(r.method, p("ghost"), e.tok["ingest"], body), "ghost")
		want(t, e.do(r.method, p("shop"), "", body), 401)
		if r.method == "POST" {
			want(t, e.do(r.method, p("shop"), e.tok["agent"], body), 403)
			sameAnswer(t, "agent: "+r.method+" "+r.path, e.do(r.method, p("shop"), e.tok["agent"], body), "shop",
				e.do(r.method, p("ghost"), e.tok["agent"], body), "ghost")
		}
	}
	want(t, e.do("GET", "/api/v1/apps/shop/deploys/"+d.ID, e.tok["agent"], nil), 200)
	want(t, e.do("GET", "/api/v1/apps/shop/deploys/"+d.ID, e.tok["shop"], nil), 200)
}

// TestHostBoundToItsAgentToken: a host id belongs to the agent token that
// sent its first heartbeat; another agent token cannot overwrite its
// record until an admin releases it.
func TestHostBoundToItsAgentToken(t *testing.T) {
	e := newEnv(t, envOptions{})
	put := func(id, token string) resp {
		return e.do("PUT", wire.HostPath+id, token, `{"id":"`+id+`","room":"bj"}`)
	}
	want(t, put("h1", e.tok["agent"]), 200)
	want(t, put("h1", e.tok["agent"]), 200)
	r := put("h1", e.tok["agent2"])
	want(t, r, 403, "h1", "another agent token")
	if strings.Contains(r.String(), e.tok["agent"]) || strings.Contains(r.String(), e.tok["agent2"]) {
		t.Fatalf("a secret in the answer: %s", r)
	}
	want(t, put("h2", e.tok["agent2"]), 200)
	want(t, put("h2", e.tok["agent"]), 403)
	for _, tok := range []string{e.tok["shop"], e.tok["ingest"]} {
		want(t, put("h9", tok), 403)
	}
	want(t, put("h9", ""), 401)
	// Admins may send a heartbeat for any host; it binds nothing.
	want(t, put("h1", e.admin), 200)
	want(t, put("h3", e.admin), 200)
	want(t, put("h3", e.tok["agent2"]), 200)

	// Releasing a host: admin only, per scope.
	rel := func(id, token string) resp { return e.do("DELETE", wire.HostPath+id+"/binding", token, nil) }
	want(t, rel("h1", ""), 401)
	want(t, rel("h1", e.tok["shop"]), 403)
	want(t, rel("h1", e.tok["agent2"]), 403)
	want(t, rel("h1", e.tok["agent"]), 403)
	want(t, rel("h1", e.tok["ingest"]), 403)
	want(t, rel("nope", e.admin), 404, "nope")
	want(t, rel("h1", e.admin), 200, `"released":"h1"`)
	want(t, put("h1", e.tok["agent2"]), 200)
	want(t, put("h1", e.tok["agent"]), 403)

	// A host whose agent token was revoked goes to the next agent token
	// that sends its heartbeat (the machine got a new token).
	tokens := auth.NewService(e.st)
	_, next, err := tokens.Create(e.ctx, auth.CreateRequest{Name: "agent3", Scopes: []string{auth.ScopeAgent}, CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	want(t, put("h1", next), 403)
	if err := tokens.Revoke(e.ctx, strings.Split(e.tok["agent2"], "_")[1]); err != nil {
		t.Fatal(err)
	}
	want(t, put("h1", next), 200)
	want(t, put("h1", e.tok["agent"]), 403)
}

// TestAgentRegistersOnlyItsHostsApps: an agent token registers, refreshes
// and deregisters instances only of the apps deployed to its own hosts, on
// their advertised address; it cannot claim another service, point one
// elsewhere, or take over or remove another host's instance.
func TestAgentRegistersOnlyItsHostsApps(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.push("shop", "1.0.0")
	e.startAgent("h1", "bj", nil) // heartbeats with the "agent" token
	want(t, e.do("PUT", wire.HostPath+"h2", e.tok["agent2"], `{"id":"h2","room":"bj"}`), 200)
	first := e.deploy(`{"version":"1.0.0","targets":{"hosts":["h1"]}}`)

	inst := func(svc, id string) string { return "/api/v1/services/" + svc + "/instances/" + id }
	body := func(host, addr string) string {
		return `{"addr":"` + addr + `","labels":{"host":"` + host + `"},"version":"1.0.0","ttl":"10s"}`
	}
	// The agent of h1 registers shop's instance on h1's address.
	want(t, e.do("PUT", inst("shop", "h1.shop.1"), e.tok["agent"], body("h1", "127.0.0.1:4001")), 200)
	want(t, e.do("PUT", inst("shop", "h1.shop.1"), e.tok["agent"], body("h1", "127.0.0.1:4001")), 200)
	// ... but not another service, nor another address, nor without a host.
	want(t, e.do("PUT", inst("billing", "h1.billing.1"), e.tok["agent"], body("h1", "127.0.0.1:4002")), 403, "billing", "h1")
	want(t, e.do("PUT", inst("shop", "h1.shop.2"), e.tok["agent"], body("h1", "10.9.9.9:80")), 403, "addr")
	want(t, e.do("PUT", inst("shop", "h1.shop.3"), e.tok["agent"], `{"addr":"127.0.0.1:4003"}`), 400, "labels.host")
	// Another agent token cannot use h1, nor register shop on its own h2
	// (shop was not deployed there), nor overwrite or remove h1's instance.
	want(t, e.do("PUT", inst("shop", "h2.shop.1"), e.tok["agent2"], body("h1", "127.0.0.1:4001")), 403, "h1")
	want(t, e.do("PUT", inst("shop", "h2.shop.1"), e.tok["agent2"], body("h2", "127.0.0.1:4001")), 403, "shop")
	want(t, e.do("POST", base+"/"+first.ID+"/abort", e.admin, nil), 200)
	e.deploy(`{"version":"1.0.0","targets":{"hosts":["h1","h2"]}}`)
	want(t, e.do("PUT", inst("shop", "h2.shop.1"), e.tok["agent2"], body("h2", "127.0.0.1:5001")), 200)
	want(t, e.do("PUT", inst("shop", "h1.shop.1"), e.tok["agent2"], body("h2", "127.0.0.1:5001")), 403, "another host")
	gone := e.do("DELETE", inst("shop", "h1.shop.1"), e.tok["agent2"], nil)
	want(t, gone, 404)
	sameAnswer(t, "deregister another host's instance", gone, "h1.shop.1", e.do("DELETE", inst("shop", "nope"), e.tok["agent2"], nil), "nope")
	r := e.do("GET", inst("shop", ""), e.admin, nil)
	want(t, r, 200, `"id":"h1.shop.1","addr":"127.0.0.1:4001"`, `"id":"h2.shop.1","addr":"127.0.0.1:5001"`)
	want(t, e.do("GET", inst("shop", ""), e.tok["agent"], nil), 200, `"id":"h1.shop.1"`)

	// Other scopes: teams and ingest never write the registry; admins do.
	for _, tok := range []string{e.tok["shop"], e.tok["other"], e.tok["ingest"]} {
		want(t, e.do("PUT", inst("shop", "x"), tok, body("h1", "127.0.0.1:4001")), 403)
		want(t, e.do("DELETE", inst("shop", "h1.shop.1"), tok, nil), 403)
		want(t, e.do("GET", inst("shop", ""), tok, nil), 403)
	}
	want(t, e.do("PUT", inst("shop", "x"), "", body("h1", "127.0.0.1:4001")), 401)
	want(t, e.do("DELETE", inst("shop", "x"), "", nil), 401)
	want(t, e.do("PUT", inst("billing", "static-1"), e.admin, `{"addr":"10.0.0.7:80"}`), 200)
	want(t, e.do("PUT", inst("billing", "static-1"), e.tok["agent"], body("h1", "127.0.0.1:4001")), 403)
	want(t, e.do("DELETE", inst("billing", "static-1"), e.tok["agent"], nil), 404)
	// An agent lists only the services deployed to its hosts: another
	// looks like one without instances.
	r = e.do("GET", inst("billing", ""), e.tok["agent"], nil)
	want(t, r, 200, `{"instances":[]}`)
	sameAnswer(t, "agent lists another service", r, "billing", e.do("GET", inst("ghost", ""), e.tok["agent"], nil), "ghost")
	want(t, e.do("DELETE", inst("billing", "static-1"), e.admin, nil), 200)

	// Each agent removes its own.
	want(t, e.do("DELETE", inst("shop", "h1.shop.1"), e.tok["agent"], nil), 200)
	want(t, e.do("DELETE", inst("shop", "h2.shop.1"), e.tok["agent2"], nil), 200)
}

// TestPlacementsBackfilledAfterUpgrade: deploys recorded before placements
// existed still let their agents register once the function runs, so an
// upgrade does not drop running instances from the registry.
func TestPlacementsBackfilledAfterUpgrade(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.push("shop", "1.0.0")
	e.startAgent("h1", "bj", nil)
	e.deploy(`{"version":"1.0.0","targets":{"hosts":["h1"]}}`)
	// As a Wharf before placements left it.
	if _, err := e.st.Delete(e.ctx, "tenancy/placements/shop/h1"); err != nil {
		t.Fatal(err)
	}
	reg := func() resp {
		return e.do("PUT", "/api/v1/services/shop/instances/h1.shop.1", e.tok["agent"],
			`{"addr":"127.0.0.1:4001","labels":{"host":"h1"}}`)
	}
	want(t, reg(), 403, "no deploy")
	e.run(e.fn)
	testenv.Eventually(t, 5*time.Second, func() error {
		if r := reg(); r.status != 200 {
			return fmt.Errorf("register: %s", r)
		}
		return nil
	})
}

// TestAgentReadsOnlyItsHostsApps: an agent token reads (downloads, lists,
// shows deploys of) only the apps deployed to its own hosts; any other app
// answers like one that does not exist.
func TestAgentReadsOnlyItsHostsApps(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.push("shop", "1.0.0")
	e.startAgent("h1", "bj", nil) // the "agent" token
	want(t, e.do("PUT", wire.HostPath+"h2", e.tok["agent2"], `{"id":"h2","room":"bj"}`), 200)
	d := e.deploy(`{"version":"1.0.0","targets":{"hosts":["h1"]}}`)
	for _, p := range []string{
		"/api/v1/apps/%s/artifacts", "/api/v1/apps/%s/artifacts/1.0.0", "/api/v1/apps/%s/artifacts/1.0.0/download",
		"/api/v1/apps/%s/artifacts/1.0.0/url", "/api/v1/apps/%s/deploys", "/api/v1/apps/%s/deploys/" + d.ID,
	} {
		path := func(app string) string { return strings.Replace(p, "%s", app, 1) }
		want(t, e.do("GET", path("shop"), e.tok["agent"], nil), 200)
		r := e.do("GET", path("shop"), e.tok["agent2"], nil)
		want(t, r, 404)
		sameAnswer(t, "agent of another host: "+p, r, "shop", e.do("GET", path("ghost"), e.tok["agent2"], nil), "ghost")
	}
}

// TestServiceNamedLikeAnotherTeamsApp: an admin who defines a service
// named like an app that a team already owns must grant it to that team
// explicitly, since that team's deploys register its instances.
func TestServiceNamedLikeAnotherTeamsApp(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.push("shop", "1.0.0") // an admin's push: team shop
	cart := e.do("PUT", "/api/v1/apps/cart/artifacts/1.0.0", e.tok["other"], e.bundle("cart", "1.0.0"))
	want(t, cart, 201, `"team":"other"`)
	svc := func(name, body string) resp { return e.do("PUT", "/api/v1/gateway/services/"+name, e.admin, body) }
	want(t, svc("cart", `{}`), 409, "cart", `team \"other\"`)
	want(t, svc("cart", `{"team":"evil"}`), 409, "cart", `team \"other\"`)
	want(t, svc("cart", `{"team":"other"}`), 201)
	want(t, svc("shop", `{}`), 201)
	want(t, svc("fresh", `{}`), 201)
	for _, tok := range []string{e.tok["other"], e.tok["agent"], e.tok["ingest"]} {
		want(t, e.do("PUT", "/api/v1/gateway/services/cart", tok, `{"team":"other"}`), 403)
	}
	want(t, e.do("PUT", "/api/v1/gateway/services/cart", "", `{"team":"other"}`), 401)
}

// TestHeartbeatCannotJoinAnotherTeamsApp: a host whose heartbeat claims
// to run an app that was never deployed to it is not one of the app's
// hosts: "all" and rollbacks leave it out, so an agent token cannot get
// itself a team's bundles and registrations by lying in its heartbeat.
func TestHeartbeatCannotJoinAnotherTeamsApp(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.push("shop", "1.0.0")
	e.push("shop", "2.0.0")
	e.startAgent("h1", "bj", nil)
	first := e.deploy(`{"version":"1.0.0","targets":{"hosts":["h1"]}}`)
	want(t, e.do("POST", base+"/"+first.ID+"/abort", e.admin, nil), 200)
	// h2 says it runs shop; no deploy ever sent shop there.
	want(t, e.do("PUT", wire.HostPath+"h2", e.tok["agent2"],
		`{"id":"h2","room":"bj","apps":{"shop":{"version":"1.0.0","healthy":true}}}`), 200)
	// h1's heartbeat says it runs shop too (as a real agent's would).
	want(t, e.do("PUT", wire.HostPath+"h1", e.tok["agent"],
		`{"id":"h1","room":"bj","apps":{"shop":{"version":"1.0.0","healthy":true}}}`), 200)
	d := e.deploy(`{"version":"2.0.0","targets":{"all":true}}`)
	if len(d.Targets) != 1 || d.Targets[0].Host != "h1" {
		t.Fatalf("targets of all: %+v", d.Targets)
	}
	want(t, e.do("POST", base+"/"+d.ID+"/abort", e.admin, nil), 200)
	r := e.do("POST", "/api/v1/apps/shop/rollback", e.admin, `{"to":"1.0.0"}`)
	want(t, r, 201)
	if v := decode[struct {
		Targets []struct{ Host string }
	}](t, r); len(v.Targets) != 1 || v.Targets[0].Host != "h1" {
		t.Fatalf("targets of the rollback: %s", r)
	}
	want(t, e.do("GET", "/api/v1/apps/shop/artifacts/2.0.0/download", e.tok["agent2"], nil), 404)
}

// The address a host's instances may be registered on is fixed when the
// host is bound: the agent token holding it cannot move it (a stolen token
// would point the apps deployed there at an address of its choosing), and
// unroutable addresses are refused outright.
func TestHostAdvertiseIsFixedWhileBound(t *testing.T) {
	e := newEnv(t, envOptions{})
	put := func(adv, token string) resp {
		return e.do("PUT", wire.HostPath+"h1", token, `{"id":"h1","room":"bj","advertise":"`+adv+`"}`)
	}
	want(t, put("10.0.0.7", e.tok["agent"]), 200)
	want(t, put("10.0.0.7", e.tok["agent"]), 200)
	want(t, put("10.0.0.66", e.tok["agent"]), 409, "advertise", "10.0.0.7")
	for _, bad := range []string{"169.254.169.254", "0.0.0.0", "fe80::1", "224.0.0.1"} {
		want(t, e.do("PUT", wire.HostPath+"h2", e.tok["agent2"], `{"id":"h2","room":"bj","advertise":"`+bad+`"}`), 400, "advertise")
	}
	// An admin releases the host; its agent may then announce the new address.
	want(t, e.do("DELETE", wire.HostPath+"h1/binding", e.admin, nil), 200)
	want(t, put("10.0.0.66", e.tok["agent"]), 200)
}

// The key a host's events are verified with is fixed when the host is
// bound, like its address: the agent token holding the host cannot
// replace it (a stolen token would sign events for the host), a
// heartbeat without a key leaves it bound,
// a key that is not 32 bytes is a 400, and an agent of the previous
// release (no key) that is upgraded records its first key.
func TestHostEventKeyIsFixedWhileBound(t *testing.T) {
	e := newEnv(t, envOptions{})
	k1, k2 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)), base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32))
	put := func(key, token string) resp {
		body := `{"id":"h1","room":"bj"`
		if key != "" {
			body += `,"public_key":"` + key + `"`
		}
		return e.do("PUT", wire.HostPath+"h1", token, body+"}")
	}
	want(t, put("", e.tok["agent"]), 200) // previous release: no key
	want(t, put(k1, e.tok["agent"]), 200) // upgraded: its key is recorded
	want(t, put(k1, e.tok["agent"]), 200)
	want(t, put(k2, e.tok["agent"]), 409, "public_key", wire.KeyID(bytes.Repeat([]byte{1}, 32)))
	want(t, put("", e.tok["agent"]), 200) // a downgraded agent: the key stays bound
	want(t, put(k2, e.tok["agent"]), 409, "public_key")
	want(t, put(base64.StdEncoding.EncodeToString([]byte("short")), e.tok["agent"]), 400, "public_key")
	want(t, e.do("PUT", wire.HostPath+"h1", e.tok["agent"], `{"id":"h1","public_key":12}`), 400, "public_key")
	want(t, put(k2, e.tok["agent2"]), 403)
	// An admin releases the host; its agent may then announce a new key.
	want(t, e.do("DELETE", wire.HostPath+"h1/binding", e.admin, nil), 200)
	want(t, put(k2, e.tok["agent"]), 200)
	want(t, put(k1, e.tok["agent"]), 409, "public_key")
}
