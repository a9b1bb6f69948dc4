package monitor_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/internal/testenv"
)

// accessSeries are series as Wharf's self-feed and teams push them: the
// gateway's per-service series (service=), an agent's per-app series
// (app=), a team's own (team=), a host's (no owner tag), another team's.
var accessSeries = []struct{ endpoint, metric, tags string }{
	{"gw-1", "wharf.gateway.service.requests", "service=shop"},
	{"host-1", "wharf.app.up", "app=shop,instance=web-1"},
	{"web-1", "orders.created", "env=prod,team=shop"},
	{"host-1", "cpu.busy", ""},
	{"gw-1", "wharf.gateway.service.requests", "service=bank"},
	{"host-1", "cpu.idle", "team=shopping"}, // a prefix of shop is not shop
}

func pushAccessSeries(t *testing.T, s *server) int64 {
	t.Helper()
	now := time.Now().Unix() / 60 * 60
	var items []string
	for _, x := range accessSeries {
		for ts := now - 240; ts <= now; ts += 60 {
			items = append(items, item(x.endpoint, x.metric, ts, 60, 95, "GAUGE", x.tags))
		}
	}
	if r := s.do(t, "POST", "/v1/push", "ingest", array(items...)); r.Status != 200 {
		t.Fatalf("push: %d %s", r.Status, r.Body)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		r := s.do(t, "GET", "/api/v1/metrics/series", "admin", "")
		if n := len(decode[monitor.SeriesReply](t, r).Series); n != len(accessSeries) {
			return fmt.Errorf("%d series stored", n)
		}
		return nil
	})
	return now
}

// TestTeamReadAccessPerScope: the series listing shows each token the
// series it may read, a query of a series it may not read is 403 naming
// it; no token 401, agent and ingest 403 on every read route.
func TestTeamReadAccessPerScope(t *testing.T) {
	s := newServer(t, serverOptions{})
	pushAccessSeries(t, s)
	shop := []string{
		"gw-1/wharf.gateway.service.requests/service=shop",
		"host-1/wharf.app.up/app=shop,instance=web-1",
		"web-1/orders.created/env=prod,team=shop",
	}
	bank := []string{"gw-1/wharf.gateway.service.requests/service=bank"}
	var all []string
	for _, x := range accessSeries {
		all = append(all, strings.TrimSuffix(x.endpoint+"/"+x.metric+"/"+x.tags, "/"))
	}
	readable := map[string][]string{"team": shop, "other": bank, "multi": append(slices.Clone(shop), bank...), "admin": all}
	for who, want := range readable {
		r := s.do(t, "GET", "/api/v1/metrics/series", who, "")
		if r.Status != 200 {
			t.Fatalf("series as %s: %d %s", who, r.Status, r.Body)
		}
		var got []string
		for _, x := range decode[monitor.SeriesReply](t, r).Series {
			got = append(got, strings.TrimSuffix(x.Endpoint+"/"+x.Metric+"/"+x.Tags, "/"))
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("series as %s: %v, want %v", who, got, want)
		}
		for _, x := range accessSeries {
			key := strings.TrimSuffix(x.endpoint+"/"+x.metric+"/"+x.tags, "/")
			q := "/api/v1/metrics/query?endpoint=" + x.endpoint + "&metric=" + x.metric + "&tags=" + url.QueryEscape(x.tags)
			body := fmt.Sprintf(`{"series":[{"endpoint":%q,"metric":%q,"tags":%q}]}`, x.endpoint, x.metric, x.tags)
			for _, c := range []struct{ method, path, body string }{{"GET", q, ""}, {"POST", "/api/v1/metrics/query", body}} {
				r := s.do(t, c.method, c.path, who, c.body)
				if slices.Contains(want, key) {
					if r.Status != 200 || !decode[monitor.QueryReply](t, r).Series[0].Found {
						t.Errorf("%s %s as %s: %d %s", c.method, key, who, r.Status, r.Body)
					}
					continue
				}
				wantError(t, r, 403, "may not read series \""+key+"\"")
			}
		}
	}
	// Tags in another order name the same series.
	if r := s.do(t, "GET", "/api/v1/metrics/query?endpoint=host-1&metric=wharf.app.up&tags="+url.QueryEscape("instance=web-1,app=shop"), "team", ""); r.Status != 200 {
		t.Errorf("reordered tags: %d %s", r.Status, r.Body)
	}
	// One forbidden series refuses the whole query.
	two := `{"series":[{"endpoint":"gw-1","metric":"wharf.gateway.service.requests","tags":"service=shop"},{"endpoint":"host-1","metric":"cpu.busy"}]}`
	wantError(t, s.do(t, "POST", "/api/v1/metrics/query", "team", two), 403, `may not read series "host-1/cpu.busy"`)
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/v1/metrics/series", ""},
		{"GET", "/api/v1/metrics/query?endpoint=gw-1&metric=wharf.gateway.service.requests&tags=service%3Dshop", ""},
		{"POST", "/api/v1/metrics/query", two},
		{"POST", "/api/v1/strategies/test", `{"strategy":{"metric":"cpu.busy","func":"all(#1)","operator":">","right_value":1,"max_step":1,"priority":1}}`},
	} {
		wantError(t, s.do(t, c.method, c.path, "", c.body), 401, "missing bearer token")
		for _, who := range []string{"agent", "ingest"} {
			wantError(t, s.do(t, c.method, c.path, who, c.body), 403, "lacks scope to read metrics")
		}
	}
}

// TestTeamStrategiesBoundToTeamSeries: a team token's strategies (stored
// or drafts for a backtest) must hold an owner tag with the team, so a
// backtest replays only the team's series; admin strategies are free.
func TestTeamStrategiesBoundToTeamSeries(t *testing.T) {
	s := newServer(t, serverOptions{})
	now := pushAccessSeries(t, s)
	const rest = `"func":"all(#3)","operator":">","right_value":90,"max_step":3,"priority":2`
	for _, c := range []struct{ body, field string }{
		{`{"metric":"cpu.busy",` + rest + `}`, "tags"},
		{`{"metric":"cpu.busy","tags":{"service":"bank"},` + rest + `}`, "tags"},
		{`{"metric":"cpu.idle","tags":{"team":"shopping"},` + rest + `}`, "tags"},
		{`{"metric":"cpu.busy","tags":{"host":"shop"},` + rest + `}`, "tags"},
		{`{"expression":"each(metric=cpu.busy env=prod)",` + rest + `}`, "expression"},
	} {
		wantError(t, s.do(t, "POST", "/api/v1/strategies", "team", c.body), 400, "invalid strategy: "+c.field+": must hold service=shop, app=shop or team=shop")
		draft := `{"strategy":` + c.body + `,"start":` + fmt.Sprint(now-600) + `,"end":` + fmt.Sprint(now+60) + `}`
		wantError(t, s.do(t, "POST", "/api/v1/strategies/test", "team", draft), 400, "strategy."+c.field+": must hold service=shop")
	}
	// Another team cannot draft for shop.
	wantError(t, s.do(t, "POST", "/api/v1/strategies/test", "other",
		`{"strategy":{"team":"shop","metric":"wharf.gateway.service.requests","tags":{"service":"shop"},`+rest+`}}`), 403, "team: token")
	// Bound: created, and its backtest replays the shop's series only.
	for _, body := range []string{
		`{"id":"shop-gw","metric":"wharf.gateway.service.requests","tags":{"service":"shop"},` + rest + `}`,
		`{"id":"shop-app","expression":"each(metric=wharf.app.up app=shop)",` + rest + `}`,
	} {
		if r := s.do(t, "POST", "/api/v1/strategies", "team", body); r.Status != 201 {
			t.Fatalf("bound create: %d %s", r.Status, r.Body)
		}
	}
	window := fmt.Sprintf(`,"start":%d,"end":%d}`, now-600, now+60)
	for _, id := range []string{"shop-gw", "shop-app"} {
		r := s.do(t, "POST", "/api/v1/strategies/test", "team", `{"id":"`+id+`"`+window)
		rep := decode[monitor.BacktestReply](t, r)
		if r.Status != 200 || rep.Series != 1 || len(rep.Events) == 0 {
			t.Fatalf("backtest %s as team: %d %s", id, r.Status, r.Body)
		}
		wantError(t, s.do(t, "POST", "/api/v1/strategies/test", "other", `{"id":"`+id+`"`+window), 404, "not found")
	}
	// An update that unbinds is refused and loses nothing.
	wantError(t, s.do(t, "PUT", "/api/v1/strategies/shop-gw", "team", `{"metric":"cpu.busy",`+rest+`}`), 400, "tags: must hold")
	if r := s.do(t, "GET", "/api/v1/strategies/shop-gw", "team", ""); r.Status != 200 || !strings.Contains(string(r.Body), `"service":"shop"`) {
		t.Fatalf("after the refused update: %d %s", r.Status, r.Body)
	}
	// Admin: unrestricted, for a strategy of its own or of a team.
	for _, body := range []string{`{"id":"hosts","metric":"cpu.busy",` + rest + `}`, `{"id":"shop-host","team":"shop","metric":"cpu.busy",` + rest + `}`} {
		if r := s.do(t, "POST", "/api/v1/strategies", "admin", body); r.Status != 201 {
			t.Fatalf("admin create: %d %s", r.Status, r.Body)
		}
	}
	r := s.do(t, "POST", "/api/v1/strategies/test", "admin", `{"id":"hosts"`+window)
	if rep := decode[monitor.BacktestReply](t, r); r.Status != 200 || rep.Series != 1 {
		t.Fatalf("admin backtest: %d %s", r.Status, r.Body)
	}
	// The team sees the admin's strategy for it, but cannot replay a
	// series it may not read through it.
	wantError(t, s.do(t, "POST", "/api/v1/strategies/test", "team", `{"id":"shop-host"`+window), 400, "strategy.tags: must hold")
}
