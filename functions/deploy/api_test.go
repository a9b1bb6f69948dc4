package deploy_test

import (
	"strings"
	"testing"

	"github.com/wharfhq/wharf/functions/deploy"
	"github.com/wharfhq/wharf/functions/deploy/plan"
	"github.com/wharfhq/wharf/functions/deploy/wire"
)

func TestHeartbeats(t *testing.T) {
	e := newEnv(t, envOptions{})
	put := func(id, token, body string) resp { return e.do("PUT", wire.HostPath+id, token, body) }

	r := put("h1", e.tok["agent"], `{"id":"h1","room":"bj","labels":["ssd"],"apps":{"shop":{"version":"1.0.0","healthy":true}},"new_field":1}`)
	want(t, r, 200)
	if h := decode[wire.Host](t, r); h.Seen.IsZero() || h.Room != "bj" || h.Apps["shop"].Version != "1.0.0" {
		t.Fatalf("stored heartbeat: %s", r)
	}
	want(t, put("h2", e.admin, `{"id":"h2","room":"sh"}`), 200)

	want(t, put("h1", e.tok["agent"], `{"id":"h2"}`), 400, "id:", "h2", "path names")
	want(t, put("h1", e.tok["agent"], `{"id":"h1","room":"BJ!"}`), 400, "room:")
	want(t, put("h1", e.tok["agent"], `{"id":"h1","capacity":"many"}`), 400, "capacity")
	want(t, put("h1", e.tok["agent"], `{"id":"h1","apps":{"shop":{"version":"../x"}}}`), 400, "apps.shop.version")
	want(t, put("h:1", e.tok["agent"], `{"id":"h:1"}`), 400, "id:", "task topic")
	want(t, put(strings.Repeat("h", 60), e.tok["agent"], `{}`), 400, "id:", "task topic")
	want(t, put("h1", e.tok["agent"], ``), 400, "JSON object")
	want(t, put("h1", e.tok["shop"], `{"id":"h1"}`), 403)
	want(t, put("h1", "", `{"id":"h1"}`), 401)

	r = e.do("GET", "/api/v1/agents/hosts", e.admin, nil)
	want(t, r, 200)
	if hs := decode[deploy.HostsResponse](t, r).Hosts; len(hs) != 2 || hs[0].ID != "h1" || hs[1].ID != "h2" {
		t.Fatalf("hosts: %s", r)
	}
	want(t, e.do("GET", "/api/v1/agents/hosts", e.tok["agent"], nil), 403)
}

// TestCreateErrors: bad requests are 4xx naming what is wrong; nothing is
// driven here (no Run), so a created deploy stays pending.
func TestCreateErrors(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.push("shop", "1.0.0")
	e.push("shop", "2.0.0")
	e.startAgent("h1", "bj", nil)
	e.startAgent("h2", "sh", nil)
	post := func(token, body string) resp { return e.do("POST", base, token, body) }

	want(t, post(e.admin, ``), 400, "deploy spec")
	want(t, post(e.admin, `{"version":"1.0.0","targets":{"all":true},"strateg":{}}`), 400, "strateg")
	r := post(e.admin, `{"version":"1.0.0","targets":{"rooms":["bj"]},"strategy":{"kind":"canary","steps":[50,40]}}`)
	want(t, r, 400, "strategy.steps[1]")
	if b := decode[struct{ Fields []deploy.FieldProblem }](t, r); len(b.Fields) == 0 || b.Fields[0].Field != "strategy.steps[1]" {
		t.Fatalf("fields: %s", r)
	}
	want(t, post(e.admin, `{"version":"bad version","targets":{"hosts":["h 1"]}}`), 400, "version:", "targets.hosts[0]")
	want(t, post(e.admin, `{"version":"1.0.0","targets":{"all":true},"max_unavailable":"lots"}`), 400, "max_unavailable")
	want(t, post(e.admin, `{"version":"1.0.0","targets":{"rooms":["bj"]},"health":{"error_rate_max":0.05}}`), 400,
		"health.error_rate_max", "error-rate gate needs a gate source")

	// Artifacts and access.
	want(t, post(e.admin, `{"version":"9.9.9","targets":{"rooms":["bj"]}}`), 404, "9.9.9", "not found")
	want(t, e.do("POST", "/api/v1/apps/nope/deploys", e.admin, `{"version":"1.0.0","targets":{"all":true}}`), 404, `app \"nope\" not found`)
	want(t, post(e.tok["other"], `{"version":"1.0.0","targets":{"rooms":["bj"]}}`), 404, `app \"shop\" not found`)
	want(t, post(e.tok["agent"], `{"version":"1.0.0","targets":{"rooms":["bj"]}}`), 403)

	// Target selection against the live hosts: 409 naming the selector.
	want(t, post(e.admin, `{"version":"1.0.0","targets":{"rooms":["gz"]}}`), 409, "targets.rooms[0]", "no live host in room", "gz")
	want(t, post(e.admin, `{"version":"1.0.0","targets":{"hosts":["h1","ghost"]}}`), 409, "targets.hosts[1]", "ghost")
	want(t, post(e.admin, `{"version":"1.0.0","targets":{"rooms":["bj"],"labels":["gpu"]}}`), 409, "no live host matches")

	// One deploy per app: the second is a 409 naming the running one.
	first := e.deploy(`{"version":"1.0.0","targets":{"rooms":["bj","sh"]},"why":"first"}`)
	if first.State != plan.StatePending || len(first.Targets) != 2 || first.Who != "admin" || first.Summary.Targets != 2 {
		t.Fatalf("created: %+v", first.Summary)
	}
	r = e.do("POST", base, e.tok["shop"], `{"version":"2.0.0","targets":{"rooms":["bj"]}}`)
	want(t, r, 409, first.ID, "running")
	if b := decode[struct{ Running string }](t, r); b.Running != first.ID {
		t.Fatalf("running: %s", r)
	}
	// Aborted before the driver ever stepped it, it frees the app.
	want(t, e.do("POST", base+"/"+first.ID+"/pause", e.admin, nil), 409, "cannot pause a deploy that is pending")
	want(t, e.do("POST", base+"/"+first.ID+"/pause", e.admin, `{"why":"x"}`), 409, "cannot pause a deploy that is pending")
	want(t, e.do("POST", base+"/"+first.ID+"/pause", e.admin, `{"reason":"x"}`), 400, "reason")
	r = e.do("POST", base+"/"+first.ID+"/abort", e.tok["shop"], `{"why":"changed my mind"}`)
	want(t, r, 200)
	if v := decode[deploy.View](t, r); v.State != plan.StateAborted || v.Error != "aborted by shop: changed my mind" {
		t.Fatalf("aborted: %s", r)
	}
	want(t, e.do("POST", base+"/"+first.ID+"/abort", e.admin, nil), 409, "aborted")
	second := e.deploy(`{"version":"2.0.0","targets":{"hosts":["h2"]}}`)

	// History, newest first.
	want(t, e.do("GET", base+"?limit=abc", e.admin, nil), 400, "limit")
	r = e.do("GET", base+"?limit=5", e.tok["agent"], nil)
	want(t, r, 200)
	h := decode[deploy.HistoryResponse](t, r)
	if len(h.Deploys) != 2 || h.Deploys[0].ID != second.ID || h.Deploys[1].ID != first.ID || h.Deploys[1].Who != "admin" ||
		h.Deploys[1].Why != "first" || h.Deploys[1].State != plan.StateAborted {
		t.Fatalf("history: %s", r)
	}
	r = e.do("GET", base+"?limit=1", e.admin, nil)
	if h := decode[deploy.HistoryResponse](t, r); len(h.Deploys) != 1 || h.Deploys[0].ID != second.ID {
		t.Fatalf("history limit 1: %s", r)
	}
	want(t, e.do("GET", base+"/"+strings.Replace(second.ID, "shop", "cart", 1), e.admin, nil), 404)
	want(t, e.do("GET", base+"/shop.nope", e.admin, nil), 404)
	want(t, e.do("GET", base, e.tok["other"], nil), 404)

	// The live versions protect the versions in use from artifact GC.
	if got := e.live("shop"); !strings.Contains(strings.Join(got, ","), "2.0.0") {
		t.Fatalf("live versions %v", got)
	}
	want(t, e.do("DELETE", "/api/v1/apps/shop/artifacts/2.0.0", e.admin, nil), 409, "in use")

	// Rollback: nothing good yet.
	want(t, e.do("POST", "/api/v1/apps/shop/rollback", e.admin, `{"to":"bad version"}`), 400, "to:")
	want(t, e.do("POST", "/api/v1/apps/shop/rollback", e.admin, `{"to":"9.9.9"}`), 404)
}
