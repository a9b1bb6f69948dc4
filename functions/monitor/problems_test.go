package monitor_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/event"
)

// putProblem stores an open problem as the judge does.
func putProblem(t *testing.T, st store.Store, strategyID, team, endpoint string) event.Event {
	t.Helper()
	ev := event.Event{ID: event.ID(event.PrefixStrategy, strategyID, event.PK(endpoint, "cpu.busy", nil)), Status: event.Problem,
		CurrentStep: 1, EventTime: 1700000000, StrategyID: strategyID, Team: team, Endpoint: endpoint, Metric: "cpu.busy",
		LeftValue: 97, Func: "all(#3)", Operator: ">", RightValue: 90, MaxStep: 3, Priority: 2}
	b, err := event.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(context.Background(), wire.ProblemKey(strategyID, ev.ID), b, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestProblemsListing: GET /api/v1/problems lists the open problems the
// judge keeps, a team token only its teams', an admin every one; filters
// by strategy and team, pages with next; bad arguments are 400 naming
// them; tokens of no team are 403 and no token 401.
func TestProblemsListing(t *testing.T) {
	s := newServer(t, serverOptions{noSeries: true})
	for i := range 3 {
		putProblem(t, s.st, "shop-cpu", "shop", fmt.Sprintf("web%d", i))
	}
	putProblem(t, s.st, "bank-cpu", "bank", "db1")
	count := func(who, query string) (int, string) {
		t.Helper()
		r := s.do(t, "GET", "/api/v1/problems"+query, who, "")
		if r.Status != 200 {
			t.Fatalf("%s %s: %d %s", who, query, r.Status, r.Body)
		}
		l := decode[monitor.ProblemList](t, r)
		for _, p := range l.Problems {
			if p.Status != event.Problem || p.LeftValue != 97 {
				t.Fatalf("%s %s: problem %+v", who, query, p)
			}
		}
		return len(l.Problems), l.Next
	}
	for _, c := range []struct {
		who, query string
		want       int
	}{
		{"admin", "", 4}, {"admin", "?strategy=shop-cpu", 3}, {"admin", "?team=bank", 1},
		{"team", "", 3}, {"other", "", 1}, {"multi", "", 4}, {"other", "?strategy=shop-cpu", 0},
	} {
		if n, _ := count(c.who, c.query); n != c.want {
			t.Errorf("%s %q: %d problems, want %d", c.who, c.query, n, c.want)
		}
	}
	// Pages of two: 2 + 2, the second without next.
	n, next := count("admin", "?limit=2")
	if n != 2 || next == "" {
		t.Fatalf("first page: %d, next %q", n, next)
	}
	if n, next2 := count("admin", "?limit=2&after="+next); n != 2 || next2 != "" {
		t.Fatalf("second page: %d, next %q", n, next2)
	}
	wantError(t, s.do(t, "GET", "/api/v1/problems?limit=0", "admin", ""), 400, "limit must be 1..1000")
	wantError(t, s.do(t, "GET", "/api/v1/problems?strategy=a/b", "admin", ""), 400, `strategy: "a/b" is not a strategy id`)
	wantError(t, s.do(t, "GET", "/api/v1/problems?strategy=shop-cpu&after=bank-cpu/x", "admin", ""), 400, "after:")
	wantError(t, s.do(t, "GET", "/api/v1/problems", "", ""), 401, "missing bearer token")
	for _, who := range []string{"agent", "ingest"} {
		wantError(t, s.do(t, "GET", "/api/v1/problems", who, ""), 403, "lacks scope for strategies")
	}
}
