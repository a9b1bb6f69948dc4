package monitor_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/monitoring/strategy"
)

const cpuStrategy = `{"metric":"cpu.busy","tags":{"env":"prod","service":"shop"},"func":"all(#3)","operator":">","right_value":90,"max_step":3,"priority":2,"note":"cpu hot"}`

// TestStrategiesCRUD: a team token creates a strategy without id or team
// (both filled in, stored as JSON at wire.StrategyKey), shows, lists with
// filters and pages, updates and deletes it; an admin sees every team's.
func TestStrategiesCRUD(t *testing.T) {
	s := newServer(t, serverOptions{noSeries: true})
	r := s.do(t, "POST", "/api/v1/strategies", "team", cpuStrategy)
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	created := decode[strategy.Strategy](t, r)
	if !strings.HasPrefix(created.ID, "s-") || created.Team != "shop" || created.Func != "all(#3)" || created.Tags["env"] != "prod" {
		t.Fatalf("created %+v", created)
	}
	e, err := s.st.Get(context.Background(), wire.StrategyKey(created.ID))
	if err != nil {
		t.Fatalf("stored: %v", err)
	}
	var stored strategy.Strategy
	if err := json.Unmarshal(e.Value, &stored); err != nil || stored.ID != created.ID || stored.Team != "shop" {
		t.Fatalf("stored %s: %v", e.Value, err)
	}
	if _, _, err := strategy.Parse(e.Value); err != nil {
		t.Fatalf("the stored JSON does not parse as a strategy: %v", err)
	}

	// Named ids; an admin one of another team; a taken id is 409.
	r = s.do(t, "POST", "/api/v1/strategies", "admin", `{"id":"bank-qps","team":"bank","expression":"each(metric=qps project=bank)","func":"max(#2)","operator":">=","right_value":1000,"max_step":1,"priority":0}`)
	if r.Status != 201 {
		t.Fatalf("admin create: %d %s", r.Status, r.Body)
	}
	r = s.do(t, "POST", "/api/v1/strategies", "team", `{"id":"shop-disk","metric":"disk.used","tags":{"app":"shop"},"func":"avg(#5)","operator":">","right_value":0.9,"max_step":2,"priority":3}`)
	if r.Status != 201 {
		t.Fatalf("named create: %d %s", r.Status, r.Body)
	}
	wantError(t, s.do(t, "POST", "/api/v1/strategies", "team", `{"id":"shop-disk","metric":"x","tags":{"app":"shop"},"func":"all(#1)","operator":">","right_value":1,"max_step":1,"priority":1}`), 409, `strategy "shop-disk" already exists`)

	// Show.
	if r := s.do(t, "GET", "/api/v1/strategies/"+created.ID, "team", ""); r.Status != 200 || decode[strategy.Strategy](t, r).Note != "cpu hot" {
		t.Fatalf("show: %d %s", r.Status, r.Body)
	}

	// List: the team sees its two, the admin all three; filters and pages.
	ids := func(who, query string) (out []string, next string) {
		t.Helper()
		r := s.do(t, "GET", "/api/v1/strategies"+query, who, "")
		if r.Status != 200 {
			t.Fatalf("list %s: %d %s", query, r.Status, r.Body)
		}
		l := decode[monitor.StrategyList](t, r)
		for _, x := range l.Strategies {
			out = append(out, x.ID)
		}
		return out, l.Next
	}
	if got, _ := ids("team", ""); len(got) != 2 {
		t.Fatalf("team list: %v", got)
	}
	if got, _ := ids("admin", ""); len(got) != 3 {
		t.Fatalf("admin list: %v", got)
	}
	if got, _ := ids("admin", "?team=bank"); len(got) != 1 || got[0] != "bank-qps" {
		t.Fatalf("team=bank: %v", got)
	}
	if got, _ := ids("admin", "?metric=qps"); len(got) != 1 || got[0] != "bank-qps" {
		t.Fatalf("metric=qps (expression): %v", got)
	}
	if got, _ := ids("team", "?team=bank"); len(got) != 0 {
		t.Fatalf("team token filtering on another team: %v", got)
	}
	page1, next := ids("admin", "?limit=2")
	if len(page1) != 2 || next != page1[1] {
		t.Fatalf("page 1: %v next %q", page1, next)
	}
	page2, next2 := ids("admin", "?limit=2&after="+next)
	if len(page2) != 1 || next2 != "" || page2[0] == page1[0] || page2[0] == page1[1] {
		t.Fatalf("page 2: %v next %q", page2, next2)
	}
	wantError(t, s.do(t, "GET", "/api/v1/strategies?limit=0", "admin", ""), 400, "limit must be 1..1000")

	// Update: the whole strategy, team kept; the id in the body must match.
	upd := strings.Replace(cpuStrategy, `"right_value":90`, `"right_value":95`, 1)
	r = s.do(t, "PUT", "/api/v1/strategies/"+created.ID, "team", upd)
	if r.Status != 200 {
		t.Fatalf("update: %d %s", r.Status, r.Body)
	}
	if u := decode[strategy.Strategy](t, r); u.RightValue != 95 || u.Team != "shop" || u.ID != created.ID {
		t.Fatalf("updated %+v", u)
	}
	wantError(t, s.do(t, "PUT", "/api/v1/strategies/"+created.ID, "team", `{"id":"other",`+cpuStrategy[1:]), 400, `id: is "other" but the path names`)
	wantError(t, s.do(t, "PUT", "/api/v1/strategies/"+created.ID, "team", `{"team":"bank",`+cpuStrategy[1:]), 403, "team: token")
	wantError(t, s.do(t, "PUT", "/api/v1/strategies/nope", "team", cpuStrategy), 404, `strategy "nope" not found`)

	// Delete: 204, then gone.
	if r := s.do(t, "DELETE", "/api/v1/strategies/"+created.ID, "team", ""); r.Status != 204 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	wantError(t, s.do(t, "GET", "/api/v1/strategies/"+created.ID, "team", ""), 404, "not found")
	wantError(t, s.do(t, "DELETE", "/api/v1/strategies/"+created.ID, "team", ""), 404, "not found")
}

// TestStrategiesBadInput: every invalid strategy is a 400 whose message
// and fields name each wrong field; nothing is stored.
func TestStrategiesBadInput(t *testing.T) {
	s := newServer(t, serverOptions{noSeries: true})
	cases := []struct{ body, want string }{
		{``, "request body must be a strategy JSON object"},
		{`{"metric":"cpu","func":"bogus(#3)","operator":">","right_value":1,"max_step":1,"priority":1}`, "func: "},
		{`{"metric":"cpu","func":"all(#3)","operator":">","right_value":1,"max_step":1,"priority":1,"recover":{"func":"nope","operator":"<","right_value":1}}`, "recover.func: "},
		{`{"metric":"cpu","func":"all(#3)","operator":"=>","right_value":1,"max_step":1,"priority":9}`, "priority: must be 0..6"},
		{`{"metric":"cpu","func":"all(#3)","operator":">","right_value":1,"max_step":"3","priority":1}`, "max_step: want a number"},
		{`{"metric":"cpu","func":"all(#3)","operator":">","right_value":1,"max_step":1,"priority":1,"colour":"red"}`, "colour: unknown field"},
		{`{"id":"bad id","metric":"cpu","func":"all(#3)","operator":">","right_value":1,"max_step":1,"priority":1}`, "id: must be"},
		{`{"team":"Bad Team","metric":"cpu","func":"all(#3)","operator":">","right_value":1,"max_step":1,"priority":1}`, "team: must be"},
		{`[1,2]`, "(body)"},
		{`{"metric":"cpu"} {}`, "(body)"},
	}
	for _, c := range cases {
		r := s.do(t, "POST", "/api/v1/strategies", "admin", c.body)
		wantError(t, r, 400, c.want)
	}
	r := s.do(t, "POST", "/api/v1/strategies", "admin", `{"metric":"cpu","func":"bogus","operator":"=>","right_value":1,"max_step":0,"priority":1}`)
	body := decode[struct {
		Fields []monitor.FieldProblem `json:"fields"`
	}](t, r)
	var names []string
	for _, f := range body.Fields {
		names = append(names, f.Field)
	}
	if got := strings.Join(names, ","); !strings.Contains(got, "func") || !strings.Contains(got, "operator") || !strings.Contains(got, "max_step") {
		t.Fatalf("fields %v: %s", names, r.Body)
	}
	if r := s.do(t, "GET", "/api/v1/strategies", "admin", ""); len(decode[monitor.StrategyList](t, r).Strategies) != 0 {
		t.Fatalf("bad input stored something: %s", r.Body)
	}
	// Odd ids in the path are a plain 404, never a store error.
	for _, id := range []string{"%00", strings.Repeat("x", 2000), "%ff"} {
		wantError(t, s.do(t, "GET", "/api/v1/strategies/"+id, "admin", ""), 404, "not found")
		wantError(t, s.do(t, "DELETE", "/api/v1/strategies/"+id, "admin", ""), 404, "not found")
	}
	wantError(t, s.do(t, "PUT", "/api/v1/strategies/%00", "admin", cpuStrategy), 404, "not found")
	// A team token naming another team is refused.
	wantError(t, s.do(t, "POST", "/api/v1/strategies", "team", `{"team":"bank",`+cpuStrategy[1:]), 403, "team: token")
}

// TestStrategiesAuthorization: every strategy route without a token is
// 401, with an agent or ingest token 403, and another team's strategy
// answers 404 like a missing one.
func TestStrategiesAuthorization(t *testing.T) {
	s := newServer(t, serverOptions{noSeries: true})
	if r := s.do(t, "POST", "/api/v1/strategies", "team", `{"id":"shop-cpu",`+cpuStrategy[1:]); r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	routes := []struct{ method, path, body string }{
		{"POST", "/api/v1/strategies", cpuStrategy},
		{"GET", "/api/v1/strategies", ""},
		{"GET", "/api/v1/strategies/shop-cpu", ""},
		{"PUT", "/api/v1/strategies/shop-cpu", cpuStrategy},
		{"DELETE", "/api/v1/strategies/shop-cpu", ""},
	}
	for _, rt := range routes {
		wantError(t, s.do(t, rt.method, rt.path, "", rt.body), 401, "missing bearer token")
		for _, who := range []string{"agent", "ingest"} {
			wantError(t, s.do(t, rt.method, rt.path, who, rt.body), 403, "lacks scope for strategies")
		}
		switch {
		case rt.method == "POST":
			// Another team creates its own, never the shop's.
			wantError(t, s.do(t, rt.method, rt.path, "other", `{"team":"shop",`+rt.body[1:]), 403, "team: token")
		case rt.method == "GET" && !strings.Contains(rt.path, "shop-cpu"):
			r := s.do(t, rt.method, rt.path, "other", "")
			if r.Status != 200 || len(decode[monitor.StrategyList](t, r).Strategies) != 0 {
				t.Fatalf("other team's list: %d %s", r.Status, r.Body)
			}
		default:
			other := s.do(t, rt.method, rt.path, "other", rt.body)
			missing := s.do(t, rt.method, strings.Replace(rt.path, "shop-cpu", "no-such", 1), "other", rt.body)
			wantError(t, other, 404, `strategy "shop-cpu" not found`)
			wantError(t, missing, 404, `strategy "no-such" not found`)
		}
	}
	// Still there, unchanged, for its team.
	r := s.do(t, "GET", "/api/v1/strategies/shop-cpu", "team", "")
	if r.Status != 200 || decode[strategy.Strategy](t, r).RightValue != 90 {
		t.Fatalf("after the refused calls: %d %s", r.Status, r.Body)
	}
}

// TestStrategiesTeamOfATokenWithSeveralTeams: a token of two teams must
// name the team, and may name either.
func TestStrategiesTeamOfATokenWithSeveralTeams(t *testing.T) {
	s := newServer(t, serverOptions{noSeries: true})
	wantError(t, s.do(t, "POST", "/api/v1/strategies", "multi", cpuStrategy), 400, "team: is required: the token holds several teams (bank, shop)")
	r := s.do(t, "POST", "/api/v1/strategies", "multi", `{"id":"b1","team":"bank",`+strings.Replace(cpuStrategy[1:], `"service":"shop"`, `"service":"bank"`, 1))
	if r.Status != 201 {
		t.Fatalf("create for bank: %d %s", r.Status, r.Body)
	}
	if r := s.do(t, "GET", "/api/v1/strategies/b1", "other", ""); r.Status != 200 {
		t.Fatalf("bank's token reads it: %d %s", r.Status, r.Body)
	}
	wantError(t, s.do(t, "GET", "/api/v1/strategies/b1", "team", ""), 404, "not found")
	// Moving it to shop needs shop's scope, which multi has.
	if r := s.do(t, "PUT", "/api/v1/strategies/b1", "multi", `{"team":"shop",`+cpuStrategy[1:]); r.Status != 200 || decode[strategy.Strategy](t, r).Team != "shop" {
		t.Fatalf("move to shop: %d %s", r.Status, r.Body)
	}
	wantError(t, s.do(t, "GET", "/api/v1/strategies/b1", "other", ""), 404, "not found")
}

// TestStrategiesConcurrentWrites: of concurrent creates of one id exactly
// one wins (the rest 409), and concurrent updates all apply in turn
// (compare-and-swap, none lost to a torn write).
func TestStrategiesConcurrentWrites(t *testing.T) {
	s := newServer(t, serverOptions{noSeries: true})
	const n = 8
	statuses := make(chan int, n)
	for range n {
		go func() {
			statuses <- gatewayStatus(s, t, "POST", "/api/v1/strategies", `{"id":"race",`+cpuStrategy[1:])
		}()
	}
	created := 0
	for range n {
		switch st := <-statuses; st {
		case 201:
			created++
		case 409:
		default:
			t.Fatalf("create: status %d", st)
		}
	}
	if created != 1 {
		t.Fatalf("%d creates of one id succeeded", created)
	}
	for i := range n {
		go func() {
			body := strings.Replace(cpuStrategy, `"priority":2`, `"priority":`+string(rune('0'+i%7)), 1)
			statuses <- gatewayStatus(s, t, "PUT", "/api/v1/strategies/race", body)
		}()
	}
	for range n {
		if st := <-statuses; st != 200 {
			t.Fatalf("update: status %d", st)
		}
	}
	r := s.do(t, "GET", "/api/v1/strategies/race", "team", "")
	if got := decode[strategy.Strategy](t, r); got.ID != "race" || got.Team != "shop" {
		t.Fatalf("after the updates: %+v", got)
	}
}

// gatewayStatus sends a request as the team token from any goroutine
// (no t.Fatal) and returns its status, 0 when it could not be sent.
func gatewayStatus(s *server, t *testing.T, method, path, body string) int {
	req, err := http.NewRequest(method, "http://"+s.addr+path, strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0
	}
	req.Header.Set("Authorization", "Bearer "+s.tokens["team"])
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}
