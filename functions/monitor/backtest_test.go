package monitor_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/event"
)

// TestBacktestReplaysStoredSeries: pushed points are replayed through a
// stored strategy and through a draft, giving Falcon's events: PROBLEM#1
// on the third bad point, #2 min_interval (300 s) later on new points,
// and an OK when the value falls back; a series the strategy does not
// select gives nothing.
func TestBacktestReplaysStoredSeries(t *testing.T) {
	s := newServer(t, serverOptions{})
	t0 := time.Now().Unix()/60*60 - 3600
	var items []string
	for i := range 16 {
		v := 100
		if i >= 13 {
			v = 10
		}
		items = append(items, item("web-1", "cpu.busy", t0+int64(i)*60, 60, v, "GAUGE", "env=prod"))
		items = append(items, item("web-2", "cpu.busy", t0+int64(i)*60, 60, 100, "GAUGE", "env=dev"))
	}
	if r := s.do(t, "POST", "/v1/push", "ingest", array(items...)); r.Status != 200 {
		t.Fatalf("push: %d %s", r.Status, r.Body)
	}
	last := t0 + 15*60
	testenv.Eventually(t, 15*time.Second, func() error {
		rep := s.query(t, fmt.Sprintf("endpoint=web-1&metric=cpu.busy&tags=env=prod&start=%d&end=%d", t0, last))
		if v, _ := valueAt(rep, last); v == nil || *v != 10 {
			return fmt.Errorf("last point not stored yet")
		}
		return nil
	})
	strat := `{"id":"cpu-hot","metric":"cpu.busy","tags":{"env":"prod"},"func":"all(#3)","operator":">","right_value":90,"max_step":3,"priority":2}`
	if r := s.do(t, "POST", "/api/v1/strategies", "admin", strat); r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	window := fmt.Sprintf(`"start":%d,"end":%d`, t0-60, last+60)
	for _, body := range []string{`{"id":"cpu-hot",` + window + `}`, `{"strategy":` + strings.Replace(strat, `"id":"cpu-hot",`, "", 1) + `,` + window + `}`} {
		r := s.do(t, "POST", "/api/v1/strategies/test", "admin", body)
		if r.Status != 200 {
			t.Fatalf("test %s: %d %s", body, r.Status, r.Body)
		}
		rep := decode[monitor.BacktestReply](t, r)
		if rep.Series != 1 || rep.Points < 14 {
			t.Fatalf("replayed %d series, %d points: %s", rep.Series, rep.Points, r.Body)
		}
		var got []string
		for _, e := range rep.Events {
			got = append(got, fmt.Sprintf("%s#%d@%d", e.Status, e.CurrentStep, e.EventTime-t0))
			if e.Endpoint != "web-1" || !strings.HasPrefix(e.ID, "s_"+rep.StrategyID+"_") {
				t.Fatalf("event %+v", e)
			}
		}
		if len(rep.Events) < 3 || rep.Events[0].Status != event.Problem || rep.Events[0].CurrentStep != 1 ||
			rep.Events[1].CurrentStep != 2 || rep.Events[1].EventTime-rep.Events[0].EventTime < 300 ||
			rep.Events[len(rep.Events)-1].Status != event.OK {
			t.Fatalf("events %v: %s", got, r.Body)
		}
	}
}

// TestBacktestBadInputAndAuthorization: the test route is for admin and
// team tokens, a team's draft bound to its series (access_test.go); bad
// input is a 400 naming the field.
func TestBacktestBadInputAndAuthorization(t *testing.T) {
	s := newServer(t, serverOptions{})
	draft := `{"strategy":{"metric":"m","func":"all(#3)","operator":">","right_value":1,"max_step":1,"priority":1}}`
	wantError(t, s.do(t, "POST", "/api/v1/strategies/test", "", draft), 401, "missing bearer token")
	for _, who := range []string{"agent", "ingest"} {
		wantError(t, s.do(t, "POST", "/api/v1/strategies/test", who, draft), 403, "lacks scope")
	}
	for _, who := range []string{"team", "other"} {
		wantError(t, s.do(t, "POST", "/api/v1/strategies/test", who, draft), 400, "strategy.tags: must hold service=")
	}
	for _, c := range []struct{ body, want string }{
		{`{}`, "give either id"},
		{`{"id":"x","strategy":{}}`, "give either id"},
		{`{"strategy":{"metric":"m","func":"nope","operator":">","right_value":1,"max_step":1,"priority":1}}`, "strategy.func: "},
		{`{"strategy":{"metric":"m","func":"all(#3)","operator":">","right_value":1,"max_step":1,"priority":1,"x":1}}`, "strategy.x: unknown field"},
		{`{"strategy":{"metric":"m","func":"all(#3)","operator":">","right_value":1,"max_step":1,"priority":1},"start":20,"end":10}`, "start (20) must be before end (10)"},
		{`{"id":"x","colour":1}`, "colour"},
	} {
		wantError(t, s.do(t, "POST", "/api/v1/strategies/test", "admin", c.body), 400, c.want)
	}
	wantError(t, s.do(t, "POST", "/api/v1/strategies/test", "admin", `{"id":"no-such"}`), 404, `strategy "no-such" not found`)
	r := s.do(t, "POST", "/api/v1/strategies/test", "admin", draft)
	if r.Status != 200 || len(decode[monitor.BacktestReply](t, r).Events) != 0 {
		t.Fatalf("draft over no series: %d %s", r.Status, r.Body)
	}
	// GET of a strategy named like the route still reaches the strategy.
	wantError(t, s.do(t, "GET", "/api/v1/strategies/test", "admin", ""), 404, `strategy "test" not found`)
}
