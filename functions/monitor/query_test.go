package monitor_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/internal/testenv"
)

func TestQueryBadInput(t *testing.T) {
	s := newServer(t, serverOptions{})
	for _, c := range []struct{ method, path, body, want string }{
		{"GET", "/api/v1/metrics/query?metric=m", "", "endpoint is required"},
		{"GET", "/api/v1/metrics/query?endpoint=h", "", "metric is required"},
		{"GET", "/api/v1/metrics/query?endpoint=h&metric=m&cf=LAST", "", "cf must be AVERAGE, MAX or MIN"},
		{"GET", "/api/v1/metrics/query?endpoint=h&metric=m&start=20&end=10", "", "start (20) must be before end (10)"},
		{"GET", "/api/v1/metrics/query?endpoint=h&metric=m&start=yesterday", "", `start must be a non-negative integer`},
		{"GET", "/api/v1/metrics/query?endpoint=h&metric=m&step=-1", "", `step must be a non-negative integer`},
		{"POST", "/api/v1/metrics/query", `{"series":[]}`, "series is required"},
		{"POST", "/api/v1/metrics/query", `{"series":[{"endpoint":"h"}]}`, "series[0]: endpoint and metric are required"},
		{"POST", "/api/v1/metrics/query", `{"series":[{"endpoint":"h","metric":"m"}],"start":"x"}`, `field "start"`},
		{"POST", "/api/v1/metrics/query", `{"series":[{"endpoint":"h","metric":"m"}],"bogus":1}`, `bogus`},
		{"GET", "/api/v1/metrics/series?limit=0", "", "limit must be 1..1000"},
	} {
		wantError(t, s.do(t, c.method, c.path, "admin", c.body), 400, c.want)
	}
}

func TestSeriesIndexFiltersAndPages(t *testing.T) {
	s := newServer(t, serverOptions{})
	now := time.Now().Unix()
	var items []string
	for h := range 3 {
		for _, m := range []string{"cpu.idle", "mem.used"} {
			items = append(items, item(fmt.Sprintf("host-%d", h), m, now, 60, 1, "GAUGE", fmt.Sprintf("env=prod,rack=r%d", h%2)))
		}
	}
	items = append(items, item("host-0", "net.in", now, 30, 5, "COUNTER", ""))
	if r := s.do(t, "POST", "/v1/push", "ingest", array(items...)); r.Status != 200 {
		t.Fatalf("push: %d %s", r.Status, r.Body)
	}
	list := func(q string) monitor.SeriesReply {
		r := s.do(t, "GET", "/api/v1/metrics/series?"+q, "admin", "")
		if r.Status != 200 {
			t.Fatalf("series?%s: %d %s", q, r.Status, r.Body)
		}
		return decode[monitor.SeriesReply](t, r)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := len(list("").Series); n != 7 {
			return fmt.Errorf("%d series", n)
		}
		return nil
	})
	if got := list("endpoint=host-0").Series; len(got) != 3 || got[2].Metric != "net.in" || got[2].CounterType != "COUNTER" || got[2].Step != 30 {
		t.Errorf("endpoint=host-0: %+v", got)
	}
	if got := list("metric=mem.used&tags=rack=r0").Series; len(got) != 2 || got[0].Endpoint != "host-0" || got[1].Endpoint != "host-2" {
		t.Errorf("metric=mem.used&tags=rack=r0: %+v", got)
	}
	// Pages of 3 walk every series once, in key order.
	var all []string
	after := ""
	for range 5 {
		p := list("limit=3&after=" + after)
		for _, x := range p.Series {
			all = append(all, x.Endpoint+"/"+x.Metric)
		}
		if p.Next == "" {
			break
		}
		after = p.Next
	}
	want := []string{"host-0/cpu.idle", "host-0/mem.used", "host-0/net.in", "host-1/cpu.idle", "host-1/mem.used", "host-2/cpu.idle", "host-2/mem.used"}
	if fmt.Sprint(all) != fmt.Sprint(want) {
		t.Errorf("pages %v\nwant %v", all, want)
	}
}

// TestQueryTotalValuesCap: an answer of more than MaxQueryValues values
// (series × points) is a 400 naming what to narrow, not a huge body.
func TestQueryTotalValuesCap(t *testing.T) {
	s := newServer(t, serverOptions{fn: monitor.Options{MaxQueryValues: 100}})
	now := time.Now().Unix() / 60 * 60
	var items []string
	q := "/api/v1/metrics/query?metric=m&end=" + fmt.Sprint(now)
	for i := range 3 {
		ep := fmt.Sprintf("h%d", i)
		items = append(items, item(ep, "m", now-60, 60, 1, "GAUGE", ""), item(ep, "m", now, 60, 1, "GAUGE", ""))
		q += "&endpoint=" + ep
	}
	if r := s.do(t, "POST", "/v1/push", "ingest", array(items...)); r.Status != 200 {
		t.Fatalf("push: %d %s", r.Status, r.Body)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		for i := range 3 { // the series may be in different shards, written apart
			if !s.query(t, fmt.Sprintf("endpoint=h%d&metric=m", i)).Series[0].Found {
				return fmt.Errorf("h%d not stored yet", i)
			}
		}
		return nil
	})
	// 3 series × 60 minutes at 60 s: 180 values.
	r := s.do(t, "GET", q+"&start="+fmt.Sprint(now-3600), "admin", "")
	if r.Status != 400 {
		t.Fatalf("3 series × 60 points: %d (%d bytes), want 400", r.Status, len(r.Body))
	}
	wantError(t, r, 400, "more than 100 values (series × points")
	wantError(t, r, 400, "narrow start and end, raise step, or ask for fewer series")
	// 3 series × 30 points answer.
	if r := s.do(t, "GET", q+"&start="+fmt.Sprint(now-1800), "admin", ""); r.Status != 200 {
		t.Fatalf("3 series × 30 points: %d %s", r.Status, r.Body)
	}
}
