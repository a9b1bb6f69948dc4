package alarms_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/fntest"
	"github.com/wharfhq/wharf/monitoring/alarm"
)

// TestAuthorizationPerScope: every route answers 401 without a token,
// 403 to agent (and to ingest, which may only post alerts), 404 to
// another team for what is shop's, and serves shop and admin.
func TestAuthorizationPerScope(t *testing.T) {
	s := newServer(t)
	s.putCase(t, firing("am_00000000000000a1", "shop", "cpu"))
	r := s.do(t, "POST", "/api/v2/silences", "team", fmt.Sprintf(`{"matchers":[{"name":"alertname","value":"cpu","isRegex":false}],"endsAt":%q,"comment":"x"}`, time.Now().Add(time.Hour).UTC().Format(time.RFC3339)))
	if r.Status != 200 {
		t.Fatalf("silence: %s", r)
	}
	sid := decode[map[string]string](t, r)["silenceID"]
	ends := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	type want struct{ none, agent, ingest, other, team, admin int }
	routes := []struct {
		method, path, body string
		want               want
	}{
		{"POST", "/api/v2/alerts", `[{"labels":{"alertname":"x"}}]`, want{401, 403, 200, 200, 200, 200}},
		{"GET", "/api/v2/alerts", "", want{401, 403, 403, 200, 200, 200}},
		{"GET", "/api/v2/silences", "", want{401, 403, 403, 200, 200, 200}},
		{"POST", "/api/v2/silences", `{"matchers":[{"name":"team","value":"shop","isRegex":false}],"endsAt":"` + ends + `"}`, want{401, 403, 403, 403, 200, 200}},
		{"GET", "/api/v2/silence/" + sid, "", want{401, 403, 403, 404, 200, 200}},
		{"GET", "/api/v2/status", "", want{401, 200, 200, 200, 200, 200}},
		{"GET", "/api/v1/alarms", "", want{401, 403, 403, 200, 200, 200}},
		{"GET", "/api/v1/alarms/am_00000000000000a1", "", want{401, 403, 403, 404, 200, 200}},
		{"POST", "/api/v1/alarms/am_00000000000000a1/ack", "", want{401, 403, 403, 404, 200, 409}},
		{"DELETE", "/api/v2/silence/" + sid, "", want{401, 403, 403, 404, 200, 200}},
	}
	for _, rt := range routes {
		for _, who := range []struct {
			name string
			code int
		}{{"", rt.want.none}, {"agent", rt.want.agent}, {"ingest", rt.want.ingest}, {"other", rt.want.other}, {"team", rt.want.team}, {"admin", rt.want.admin}} {
			r := s.do(t, rt.method, rt.path, who.name, rt.body)
			if r.Status != who.code {
				t.Errorf("%s %s as %q: %d, want %d: %s", rt.method, rt.path, who.name, r.Status, who.code, r.Body)
			}
		}
	}
}

// TestPostAlertsPublishesOnePosted: a valid post is one wire.Posted on
// alarms.posted, with a team token's team forced on every alert; a bad
// alert refuses the whole request with 400 naming the field, and nothing
// is published.
func TestPostAlertsPublishesOnePosted(t *testing.T) {
	s := newServer(t)
	got := fntest.Consume(t, s.nsqd.Addr, wire.PostedTopic)
	bad := `[{"labels":{"alertname":"ok"}},{"labels":{"bad-name":"x"}},{"labels":{"a":"b"},"startsAt":"2026-01-02T00:00:00Z","endsAt":"2026-01-01T00:00:00Z"}]`
	r := s.do(t, "POST", "/api/v2/alerts", "ingest", bad)
	if r.Status != 400 || !strings.Contains(string(r.Body), `"field":"[1].labels.bad-name"`) || !strings.Contains(string(r.Body), `"field":"[2].endsAt"`) {
		t.Fatalf("bad alerts: %s", r)
	}
	for _, body := range []string{`{"labels":{}}`, `[{"labels":{"a":"b"},"extra":1}]`, `[{"labels":"x"}]`, `not json`} {
		if r := s.do(t, "POST", "/api/v2/alerts", "ingest", body); r.Status != 400 || !strings.Contains(string(r.Body), `"error"`) {
			t.Errorf("%s: %s", body, r)
		}
	}
	r = s.do(t, "POST", "/api/v2/alerts", "team", `[{"labels":{"alertname":"cpu","team":"bank"},"annotations":{"summary":"hot"},"generatorURL":"http://prom/graph"}]`)
	if r.Status != 200 {
		t.Fatalf("post: %s", r)
	}
	select {
	case b := <-got:
		var p wire.Posted
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		if p.Version != wire.PostedVersion || p.By != "team" || p.Team != "shop" || len(p.Alerts) != 1 ||
			p.Alerts[0].Labels["team"] != "shop" || p.Alerts[0].Annotations["summary"] != "hot" || p.ReceivedAt.IsZero() {
			t.Fatalf("posted: %s", b)
		}
		if strings.Contains(string(b), s.tokens["team"]) {
			t.Fatal("the token is in the NSQ payload")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing published")
	}
	// A token of two teams must name one of them.
	r = s.do(t, "POST", "/api/v2/alerts", "multi", `[{"labels":{"alertname":"cpu","team":"ops"}}]`)
	if r.Status != 400 || !strings.Contains(string(r.Body), `"field":"[0].labels.team"`) {
		t.Fatalf("multi-team token, foreign team: %s", r)
	}
	select {
	case b := <-got:
		t.Fatalf("a refused post was published: %s", b)
	default:
	}
}

// TestSilencesAsAlertmanager: create, read, filter, update, expire; a
// team token's silence gets its team matcher and cannot name another
// team; GET /api/v2/alerts reports a silenced alert as suppressed.
func TestSilencesAsAlertmanager(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) { testSilencesAsAlertmanager(t, engine) })
	}
}

func testSilencesAsAlertmanager(t *testing.T, engine string) {
	s := newServerOn(t, engine)
	s.putCase(t, firing("am_00000000000000b1", "shop", "cpu"))
	s.putCase(t, firing("am_00000000000000b2", "shop", "disk"))
	ends := time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)
	r := s.do(t, "POST", "/api/v2/silences", "team", `{"matchers":[{"name":"alertname","value":"cpu","isRegex":false}],"startsAt":"2020-01-01T00:00:00Z","endsAt":"`+ends+`","createdBy":"ann","comment":"maintenance"}`)
	if r.Status != 200 {
		t.Fatalf("post: %s", r)
	}
	id := decode[map[string]string](t, r)["silenceID"]
	type gettable struct {
		ID       string
		Matchers []struct {
			Name, Value      string
			IsRegex, IsEqual bool
		}
		Status    struct{ State string }
		CreatedBy string
		UpdatedAt time.Time
		StartsAt  time.Time
	}
	g := decode[gettable](t, s.do(t, "GET", "/api/v2/silence/"+id, "team", ""))
	if g.ID != id || g.Status.State != "active" || g.CreatedBy != "ann" || len(g.Matchers) != 2 || g.Matchers[1].Name != "team" ||
		g.Matchers[1].Value != "shop" || !g.Matchers[1].IsEqual || g.UpdatedAt.IsZero() || g.StartsAt.Year() == 2020 {
		t.Fatalf("silence: %+v", g)
	}
	list := decode[[]gettable](t, s.do(t, "GET", "/api/v2/silences?filter=alertname%3Dcpu", "team", ""))
	if len(list) != 1 {
		t.Fatalf("filtered list: %+v", list)
	}
	if list := decode[[]gettable](t, s.do(t, "GET", "/api/v2/silences?filter=alertname%3Ddisk", "team", "")); len(list) != 0 {
		t.Fatalf("filter alertname=disk: %+v", list)
	}
	if list := decode[[]gettable](t, s.do(t, "GET", "/api/v2/silences", "other", "")); len(list) != 0 {
		t.Fatalf("bank sees shop's silences: %+v", list)
	}
	type alert struct {
		Labels map[string]string
		Status struct {
			State      string
			SilencedBy []string
		}
	}
	alerts := decode[[]alert](t, s.do(t, "GET", "/api/v2/alerts", "team", ""))
	states := map[string]string{}
	for _, a := range alerts {
		states[a.Labels["alertname"]] = a.Status.State
	}
	if states["cpu"] != "suppressed" || states["disk"] != "active" {
		t.Fatalf("alerts: %+v", alerts)
	}
	if got := decode[[]alert](t, s.do(t, "GET", "/api/v2/alerts?silenced=false&filter=team%3Dshop", "team", "")); len(got) != 1 || got[0].Labels["alertname"] != "disk" {
		t.Fatalf("silenced=false: %+v", got)
	}
	// Another team's silence, a silence of everything, a past end: refused.
	for _, c := range []struct{ who, body, want string }{
		{"team", `{"matchers":[{"name":"team","value":"bank","isRegex":false}],"endsAt":"` + ends + `"}`, "403"},
		{"admin", `{"matchers":[{"name":"x","value":".*","isRegex":true}],"endsAt":"` + ends + `"}`, `"field":"matchers`},
		{"team", `{"matchers":[{"name":"a","value":"b","isRegex":false}],"endsAt":"2020-01-01T00:00:00Z"}`, `"field":"endsAt"`},
		{"multi", `{"matchers":[{"name":"a","value":"b","isRegex":false}],"endsAt":"` + ends + `"}`, `"field":"matchers"`},
		{"team", `{"matchers":[{"name":"bad-name","value":"b","isRegex":false}],"endsAt":"` + ends + `"}`, "400"},
		{"team", `{"matchers":[null],"endsAt":"` + ends + `"}`, "400"},
		{"admin", `{"matchers":null,"endsAt":"` + ends + `"}`, "400"},
		{"team", `{"matchers":[{"name":"a","value":"b","isRegex":false}],"endsAt":"` + ends + `","startsAt":"` + ends + `x"}`, "400"},
		{"team", `{"id":"nope","matchers":[{"name":"a","value":"b","isRegex":false}],"endsAt":"` + ends + `"}`, "404"},
	} {
		r := s.do(t, "POST", "/api/v2/silences", c.who, c.body)
		if r.Status < 400 || r.Status >= 500 || !strings.Contains(fmt.Sprint(r.Status)+string(r.Body), c.want) {
			t.Errorf("%s %s: %s, want %s", c.who, c.body, r, c.want)
		}
	}
	// Update keeps the id; expire makes it expired (and the alert active).
	r = s.do(t, "POST", "/api/v2/silences", "team", `{"id":"`+id+`","matchers":[{"name":"alertname","value":"cpu","isRegex":false},{"name":"team","value":"shop","isRegex":false}],"endsAt":"`+ends+`","comment":"longer","annotations":{"ticket":"T-1"}}`)
	if r.Status != 200 || decode[map[string]string](t, r)["silenceID"] != id {
		t.Fatalf("update: %s", r)
	}
	if r := s.do(t, "DELETE", "/api/v2/silence/"+id, "team", ""); r.Status != 200 {
		t.Fatalf("expire: %s", r)
	}
	if r := s.do(t, "GET", "/api/v2/silence/"+id, "admin", ""); !strings.Contains(string(r.Body), `"annotations":{}`) {
		t.Fatalf("annotations (required by Alertmanager 0.28's spec): %s", r)
	}
	if g := decode[gettable](t, s.do(t, "GET", "/api/v2/silence/"+id, "admin", "")); g.Status.State != "expired" {
		t.Fatalf("after expire: %+v", g)
	}
	if got := decode[[]alert](t, s.do(t, "GET", "/api/v2/alerts?filter=alertname%3Dcpu", "team", "")); len(got) != 1 || got[0].Status.State != "active" {
		t.Fatalf("after expire: %+v", got)
	}
	if r := s.do(t, "GET", "/api/v2/alerts?filter=alertname%3D~%22%5B%22", "team", ""); r.Status != 400 {
		t.Fatalf("bad filter: %s", r)
	}
}

// TestCasesListShowAck: a team lists its cases (filters, pages), reads
// one with its history, acknowledges it once.
func TestCasesListShowAck(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) { testCasesListShowAck(t, engine) })
	}
}

func testCasesListShowAck(t *testing.T, engine string) {
	s := newServerOn(t, engine)
	for i := range 5 {
		s.putCase(t, firing(fmt.Sprintf("am_00000000000000c%d", i), "shop", fmt.Sprintf("n%d", i)))
	}
	s.putCase(t, firing("am_00000000000000d1", "bank", "cpu"))
	resolved := firing("am_00000000000000d2", "shop", "old")
	resolved.State, resolved.EndsAt = alarm.Resolved, time.Now().UTC()
	s.putCase(t, resolved)
	type list struct {
		Alarms []alarm.Case
		Next   string
	}
	l := decode[list](t, s.do(t, "GET", "/api/v1/alarms?limit=4", "team", ""))
	if len(l.Alarms) != 4 || l.Next != "am_00000000000000c3" {
		t.Fatalf("page 1: %+v", l)
	}
	l = decode[list](t, s.do(t, "GET", "/api/v1/alarms?limit=4&after="+l.Next, "team", ""))
	if len(l.Alarms) != 2 || l.Next != "" {
		t.Fatalf("page 2: %+v", l)
	}
	if l := decode[list](t, s.do(t, "GET", "/api/v1/alarms?state=firing&match=alertname%3D~%22n%5B12%5D%22", "team", "")); len(l.Alarms) != 2 {
		t.Fatalf("filtered: %+v", l)
	}
	if l := decode[list](t, s.do(t, "GET", "/api/v1/alarms?team=bank", "team", "")); len(l.Alarms) != 0 {
		t.Fatalf("shop lists bank's: %+v", l)
	}
	if l := decode[list](t, s.do(t, "GET", "/api/v1/alarms", "admin", "")); len(l.Alarms) != 7 {
		t.Fatalf("admin: %d", len(l.Alarms))
	}
	for _, q := range []string{"limit=0", "limit=x", "state=odd", "match=alertname%3D~%22%5B%22", "team=No"} {
		if r := s.do(t, "GET", "/api/v1/alarms?"+q, "team", ""); r.Status != 400 {
			t.Errorf("%s: %s", q, r)
		}
	}
	r := s.do(t, "POST", "/api/v1/alarms/am_00000000000000c1/ack", "team", "")
	if c := decode[alarm.Case](t, r); r.Status != 200 || c.AckedBy != "team" {
		t.Fatalf("ack: %s", r)
	}
	if r := s.do(t, "POST", "/api/v1/alarms/am_00000000000000c1/ack", "admin", ""); r.Status != 409 || !strings.Contains(string(r.Body), "already acknowledged by team") {
		t.Fatalf("second ack: %s", r)
	}
	if r := s.do(t, "POST", "/api/v1/alarms/am_00000000000000d2/ack", "team", ""); r.Status != 409 {
		t.Fatalf("ack resolved: %s", r)
	}
	c := decode[alarm.Case](t, s.do(t, "GET", "/api/v1/alarms/am_00000000000000c1", "team", ""))
	if len(c.History) == 0 || c.History[len(c.History)-1].Kind != alarm.EntryAcked {
		t.Fatalf("history: %+v", c.History)
	}
	for _, id := range []string{"nope", "am_00000000000000d1", "..%2F..%2Fx"} {
		if r := s.do(t, "GET", "/api/v1/alarms/"+id, "team", ""); r.Status != 404 {
			t.Errorf("%s: %s", id, r)
		}
		if r := s.do(t, "POST", "/api/v1/alarms/"+id+"/ack", "team", ""); r.Status != 404 {
			t.Errorf("ack %s: %s", id, r)
		}
	}
}

// TestStatusForAmtool: the fields amtool reads.
func TestStatusForAmtool(t *testing.T) {
	s := newServer(t)
	var st struct {
		Cluster     struct{ Status string }
		VersionInfo map[string]string
		Config      struct{ Original string }
		Uptime      time.Time
	}
	st = decode[struct {
		Cluster     struct{ Status string }
		VersionInfo map[string]string
		Config      struct{ Original string }
		Uptime      time.Time
	}](t, s.do(t, "GET", "/api/v2/status", "agent", ""))
	if st.Cluster.Status != "ready" || st.VersionInfo["version"] != "test" || st.Config.Original == "" || st.Uptime.IsZero() {
		t.Fatalf("status: %+v", st)
	}
}
