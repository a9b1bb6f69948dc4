package alarms_test

import (
	"strings"
	"testing"

	"github.com/wharfhq/wharf/functions/alarms/wire"
)

// TestInhibitionRules: a team writes its inhibition rules (versioned,
// CAS on version=, 400 naming the field); GET /api/v2/alerts reports a
// target muted by a firing source as suppressed, inhibitedBy the
// source's fingerprint; inhibited=false hides it. Per scope as every
// team route.
func TestInhibitionRules(t *testing.T) {
	s := newServer(t)
	src := firing("am_00000000000000f1", "shop", "down")
	src.Fingerprint = "00000000000000f1"
	src.Labels["cluster"] = "eu"
	dst := firing("am_00000000000000f2", "shop", "latency")
	dst.Labels["cluster"] = "eu"
	other := firing("am_00000000000000f3", "shop", "latency2")
	other.Labels["cluster"] = "us"
	for _, c := range append(testCases(src, dst), other) {
		s.putCase(t, c)
	}
	if r := s.do(t, "GET", "/api/v1/inhibit/shop", "team", ""); r.Status != 200 || !strings.Contains(string(r.Body), `"rules":[]`) {
		t.Fatalf("no rules yet: %s", r)
	}
	rules := "- source_matchers: ['alertname=\"down\"']\n  target_matchers: ['alertname=~\"latency.*\"']\n  equal: [cluster]\n"
	r := s.do(t, "PUT", "/api/v1/inhibit/shop?version=0&comment=outage", "team", rules)
	v := decode[wire.InhibitRules](t, r)
	if r.Status != 200 || v.Version != 1 || v.UpdatedBy != "team" || len(v.Rules) != 1 || v.Comment != "outage" {
		t.Fatalf("put: %s", r)
	}
	if r := s.do(t, "PUT", "/api/v1/inhibit/shop?version=0", "team", rules); r.Status != 409 {
		t.Fatalf("stale: %s", r)
	}
	for _, c := range []struct{ body, want string }{
		{"- source_matchers: ['a=~\"[\"']\n  target_matchers: ['b=c']\n", `"field":"[0].source_matchers[0]"`},
		{"- target_matchers: ['b=c']\n  bogus: 1\n", `"field":""`},
		{"{}", `"field":""`},
	} {
		if r := s.do(t, "PUT", "/api/v1/inhibit/shop", "team", c.body); r.Status != 400 || !strings.Contains(string(r.Body), c.want) {
			t.Errorf("%q: %s, want %s", c.body, r, c.want)
		}
	}
	type alert struct {
		Labels map[string]string
		Status struct {
			State       string
			InhibitedBy []string
		}
	}
	got := map[string]alert{}
	for _, a := range decode[[]alert](t, s.do(t, "GET", "/api/v2/alerts", "team", "")) {
		got[a.Labels["alertname"]] = a
	}
	if got["latency"].Status.State != "suppressed" || len(got["latency"].Status.InhibitedBy) != 1 || got["latency"].Status.InhibitedBy[0] != "00000000000000f1" ||
		got["down"].Status.State != "active" || got["latency2"].Status.State != "active" {
		t.Fatalf("alerts: %+v", got)
	}
	if l := decode[[]alert](t, s.do(t, "GET", "/api/v2/alerts?inhibited=false", "team", "")); len(l) != 2 {
		t.Fatalf("inhibited=false: %+v", l)
	}
	for _, who := range []struct {
		name string
		code int
	}{{"", 401}, {"agent", 403}, {"ingest", 403}, {"other", 403}, {"admin", 200}} {
		if r := s.do(t, "GET", "/api/v1/inhibit/shop", who.name, ""); r.Status != who.code {
			t.Errorf("GET as %q: %s", who.name, r)
		}
		want := who.code
		if r := s.do(t, "PUT", "/api/v1/inhibit/shop", who.name, "[]"); r.Status != want {
			t.Errorf("PUT as %q: %s", who.name, r)
		}
	}
}
