package artifacts_test

import (
	"testing"

	"github.com/wharfhq/wharf/functions/artifacts"
)

// appNames are the apps of a GET /api/v1/apps answer, with their latest version.
func appNames(t *testing.T, r resp) map[string]string {
	t.Helper()
	want(t, r, 200)
	out := map[string]string{}
	for _, a := range decode[artifacts.AppsResponse](t, r).Apps {
		out[a.App] = a.Latest
	}
	return out
}

// GET /api/v1/apps lists what the caller may see, per scope: admin every
// app, a team its own, an agent the apps placed on its hosts, ingest
// nothing (403), no token 401. (The gateway route of these tests is
// /api/v1/apps/, which the mux answers like /api/v1/apps.)
func TestListAppsPerScope(t *testing.T) {
	e := newEnv(t, envOptions{})
	want(t, e.push("shop", "1.0.0", e.tok["shop"], makeBundle(t, "shop", 100), ""), 201)
	want(t, e.push("shop", "1.1.0", e.tok["shop"], makeBundle(t, "shop", 100), ""), 201)
	want(t, e.push("misc", "1.0.0", e.tok["shop"], makeBundle(t, "misc", 100), ""), 201)
	want(t, e.push("cart", "2.0.0", e.tok["other"], makeBundle(t, "cart", 100), ""), 201)
	const path = "/api/v1/apps/"

	all := appNames(t, e.do("GET", path, e.admin, nil, nil))
	if len(all) != 3 || all["shop"] != "1.1.0" || all["cart"] != "2.0.0" || all["misc"] != "1.0.0" {
		t.Errorf("admin sees %v", all)
	}
	if got := appNames(t, e.do("GET", path, e.tok["shop"], nil, nil)); len(got) != 2 || got["shop"] == "" || got["misc"] == "" {
		t.Errorf("team shop sees %v", got)
	}
	if got := appNames(t, e.do("GET", path, e.tok["other"], nil, nil)); len(got) != 1 || got["cart"] == "" {
		t.Errorf("team other (wrong team for shop) sees %v", got)
	}
	if got := appNames(t, e.do("GET", path, e.tok["both"], nil, nil)); len(got) != 0 {
		t.Errorf("a team with no apps sees %v", got)
	}
	// The agent's host h1 runs shop and cart, not misc.
	if got := appNames(t, e.do("GET", path, e.tok["agent"], nil, nil)); len(got) != 2 || got["misc"] != "" {
		t.Errorf("agent sees %v", got)
	}
	want(t, e.do("GET", path, e.tok["ingest"], nil, nil), 403, "cannot list apps")
	want(t, e.do("GET", path, "", nil, nil), 401)
	want(t, e.do("GET", path, "wharf_nope", nil, nil), 401)
}
