package alarms_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/amroute"
	"github.com/wharfhq/wharf/monitoring/receiver"
)

const hook = `{"kind":"webhook","url":"http://127.0.0.1:9/hook","secret_ref":"hmac","secret":"s3cr3t-value"}`

// TestConfigAuthorizationPerScope: receivers, routes and deliveries per
// scope (none, agent, ingest, another team, the team, admin).
func TestConfigAuthorizationPerScope(t *testing.T) {
	s := newServer(t)
	if r := s.do(t, "PUT", "/api/v1/receivers/shop/chat", "team", hook); r.Status != 200 {
		t.Fatalf("put: %s", r)
	}
	type want struct{ none, agent, ingest, other, team, admin int }
	for _, rt := range []struct {
		method, path, body string
		want               want
	}{
		{"GET", "/api/v1/receivers/shop", "", want{401, 403, 403, 403, 200, 200}},
		{"GET", "/api/v1/receivers/shop/chat", "", want{401, 403, 403, 403, 200, 200}},
		{"PUT", "/api/v1/receivers/shop/chat", hook, want{401, 403, 403, 403, 200, 200}},
		{"PUT", "/api/v1/routes/shop", "receiver: chat\n", want{401, 403, 403, 403, 200, 200}},
		{"GET", "/api/v1/routes/shop", "", want{401, 403, 403, 403, 200, 200}},
		{"GET", "/api/v1/alarms/deliveries?failed=1", "", want{401, 403, 403, 200, 200, 200}},
		{"PUT", "/api/v1/routes/_global", "receiver: chat\n", want{401, 403, 403, 403, 403, 400}},
		{"DELETE", "/api/v1/receivers/shop/gone", "", want{401, 403, 403, 403, 404, 404}},
	} {
		for _, who := range []struct {
			name string
			code int
		}{{"", rt.want.none}, {"agent", rt.want.agent}, {"ingest", rt.want.ingest}, {"other", rt.want.other}, {"team", rt.want.team}, {"admin", rt.want.admin}} {
			if r := s.do(t, rt.method, rt.path, who.name, rt.body); r.Status != who.code {
				t.Errorf("%s %s as %q: %d, want %d: %s", rt.method, rt.path, who.name, r.Status, who.code, r.Body)
			}
		}
	}
}

// TestReceiversSecretIsWriteOnly: the secret is stored under its ref and
// never answered; bad receivers are 400s naming the field.
func TestReceiversSecretIsWriteOnly(t *testing.T) {
	s := newServer(t)
	r := s.do(t, "PUT", "/api/v1/receivers/shop/chat", "team", hook)
	if r.Status != 200 || strings.Contains(string(r.Body), "s3cr3t") {
		t.Fatalf("put: %s", r)
	}
	for _, path := range []string{"/api/v1/receivers/shop/chat", "/api/v1/receivers/shop"} {
		if r := s.do(t, "GET", path, "team", ""); r.Status != 200 || strings.Contains(string(r.Body), "s3cr3t") || !strings.Contains(string(r.Body), `"secret_ref":"hmac"`) {
			t.Fatalf("%s: %s", path, r)
		}
	}
	e, err := s.st.Get(context.Background(), wire.SecretKey("shop", "hmac"))
	if err != nil || string(e.Value) != "s3cr3t-value" {
		t.Fatalf("secret: %q %v", e.Value, err)
	}
	var rc receiver.Receiver
	e, err = s.st.Get(context.Background(), wire.ReceiverKey("shop", "chat"))
	if err != nil || json.Unmarshal(e.Value, &rc) != nil || rc.Team != "shop" || rc.Name != "chat" || strings.Contains(string(e.Value), "s3cr3t") {
		t.Fatalf("stored receiver: %s %v", e.Value, err)
	}
	for _, c := range []struct{ body, field string }{
		{`{"kind":"fax"}`, `"field":"kind"`},
		{`{"kind":"webhook","url":"not a url"}`, `"field":"url"`},
		{`{"kind":"webhook","url":"http://h/x","secret":"x"}`, `"field":"secret"`},
		{`{"kind":"webhook","url":"http://h/x","team":"bank"}`, `"field":"team"`},
		{`{"kind":"webhook","url":"http://h/x","timeout":"soon"}`, `"field":"timeout"`},
		{`{"kind":"webhook","url":"http://h/x","bogus":1}`, `bogus`},
	} {
		if r := s.do(t, "PUT", "/api/v1/receivers/shop/x", "team", c.body); r.Status != 400 || !strings.Contains(string(r.Body), c.field) {
			t.Errorf("%s: %s, want %s", c.body, r, c.field)
		}
	}
	if r := s.do(t, "PUT", "/api/v1/receivers/Bad!/x", "admin", hook); r.Status != 400 {
		t.Errorf("bad team: %s", r)
	}
}

// TestRoutesVersionedWithHistory: a tree names existing receivers only,
// writes compare-and-swap on version=, every version is in the history,
// and a receiver in use cannot be deleted.
func TestRoutesVersionedWithHistory(t *testing.T) {
	s := newServer(t)
	if r := s.do(t, "GET", "/api/v1/routes/shop", "team", ""); r.Status != 404 {
		t.Fatalf("no routes yet: %s", r)
	}
	r := s.do(t, "PUT", "/api/v1/routes/shop", "team", "receiver: chat\n")
	if r.Status != 400 || !strings.Contains(string(r.Body), `"field":"receiver"`) {
		t.Fatalf("unknown receiver: %s", r)
	}
	s.do(t, "PUT", "/api/v1/receivers/shop/chat", "team", hook)
	s.do(t, "PUT", "/api/v1/receivers/shop/pager", "team", `{"kind":"webhook","url":"http://127.0.0.1:9/p"}`)
	tree := "receiver: chat\ngroup_by: [alertname]\nroutes:\n  - matchers: ['priority=~\"[0-2]\"']\n    receiver: pager\n"
	r = s.do(t, "PUT", "/api/v1/routes/shop?version=0&comment=first", "team", tree)
	v := decode[amroute.Versioned](t, r)
	if r.Status != 200 || v.Version != 1 || v.UpdatedBy != "team" || v.Comment != "first" || len(v.Config.Routes) != 1 {
		t.Fatalf("first: %s", r)
	}
	if r := s.do(t, "PUT", "/api/v1/routes/shop?version=0", "team", tree); r.Status != 409 {
		t.Fatalf("stale version: %s", r)
	}
	if r := s.do(t, "PUT", "/api/v1/routes/shop?version=1", "admin", `{"receiver":"pager"}`); r.Status != 200 || decode[amroute.Versioned](t, r).Version != 2 {
		t.Fatalf("second (JSON): %s", r)
	}
	for _, c := range []struct{ q, body, want string }{
		{"", "receiver: chat\nroutes:\n  - matchers: ['a=~\"[\"']\n    receiver: chat\n", `"field":"routes[0].matchers[0]"`},
		{"", "receiver: chat\nbogus: 1\n", `"field":""`},
		{"", "", `empty document`},
		{"version=x", "receiver: chat\n", "version must be"},
	} {
		if r := s.do(t, "PUT", "/api/v1/routes/shop?"+c.q, "team", c.body); r.Status != 400 || !strings.Contains(string(r.Body), c.want) {
			t.Errorf("%q: %s, want %s", c.body, r, c.want)
		}
	}
	h := decode[struct{ Versions []amroute.Versioned }](t, s.do(t, "GET", "/api/v1/routes/shop?history=1", "team", ""))
	if len(h.Versions) != 2 || h.Versions[0].Version != 1 || h.Versions[1].UpdatedBy != "admin" { // before the third
		t.Fatalf("history: %+v", h)
	}
	// GET /api/v2/alerts names the receivers the tree routes an alert to.
	hot := firing("am_0000000000000aa1", "shop", "cpu")
	hot.Labels["priority"] = "1"
	calm := firing("am_0000000000000aa2", "shop", "disk")
	calm.Labels["priority"] = "5"
	s.putCase(t, hot)
	s.putCase(t, calm)
	if r := s.do(t, "PUT", "/api/v1/routes/shop?version=2", "team", tree); r.Status != 200 {
		t.Fatalf("third: %s", r)
	}
	type alert struct {
		Labels    map[string]string
		Receivers []struct{ Name string }
	}
	got := map[string][]string{}
	for _, a := range decode[[]alert](t, s.do(t, "GET", "/api/v2/alerts", "team", "")) {
		for _, rc := range a.Receivers {
			got[a.Labels["alertname"]] = append(got[a.Labels["alertname"]], rc.Name)
		}
	}
	if strings.Join(got["cpu"], ",") != "pager" || strings.Join(got["disk"], ",") != "chat" {
		t.Fatalf("receivers: %v", got)
	}
	if l := decode[[]alert](t, s.do(t, "GET", "/api/v2/alerts?receiver=pag.*", "team", "")); len(l) != 1 || l[0].Labels["alertname"] != "cpu" {
		t.Fatalf("receiver=pag.*: %+v", l)
	}
	if r := s.do(t, "GET", "/api/v2/alerts?receiver=%5B", "team", ""); r.Status != 400 {
		t.Fatalf("bad receiver regex: %s", r)
	}
	if r := s.do(t, "PUT", "/api/v1/routes/shop?version=3", "team", "receiver: pager\n"); r.Status != 200 {
		t.Fatalf("fourth: %s", r)
	}
	if r := s.do(t, "DELETE", "/api/v1/receivers/shop/pager", "team", ""); r.Status != 409 {
		t.Fatalf("delete a receiver in use: %s", r)
	}
	if r := s.do(t, "DELETE", "/api/v1/receivers/shop/chat", "team", ""); r.Status != 204 {
		t.Fatalf("delete an unused receiver: %s", r)
	}
}

// TestDeadDeliveriesAreTeamScoped: the dead deliveries a team sees.
func TestDeadDeliveriesAreTeamScoped(t *testing.T) {
	s := newServer(t)
	for _, c := range []wire.Claim{{Case: "c1", StepKey: "firing.1", Team: "shop", Receiver: "chat", State: wire.ClaimDead, Attempts: 9, Result: "503"},
		{Case: "c2", StepKey: "firing.1", Team: "bank", Receiver: "chat", State: wire.ClaimDead}} {
		b, _ := json.Marshal(c)
		if _, err := s.st.Put(context.Background(), wire.DeadKey(c.Team, c.Case+"k"), b, store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	l := decode[struct{ Deliveries []wire.Claim }](t, s.do(t, "GET", "/api/v1/alarms/deliveries?failed=1", "team", ""))
	if len(l.Deliveries) != 1 || l.Deliveries[0].Case != "c1" || l.Deliveries[0].Result != "503" {
		t.Fatalf("shop: %+v", l)
	}
	if l := decode[struct{ Deliveries []wire.Claim }](t, s.do(t, "GET", "/api/v1/alarms/deliveries", "admin", "")); len(l.Deliveries) != 2 {
		t.Fatalf("admin: %+v", l)
	}
	if r := s.do(t, "GET", "/api/v1/alarms/deliveries?failed=0", "admin", ""); r.Status != 400 {
		t.Fatalf("failed=0: %s", r)
	}
}
