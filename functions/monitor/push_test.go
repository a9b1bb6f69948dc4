package monitor_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/metric"
	"github.com/wharfhq/wharf/monitoring/ring"
)

func TestRoutesAuthorizationPerScope(t *testing.T) {
	s := newServer(t, serverOptions{})
	now := time.Now().Unix()
	body := array(item("h", "m", now, 60, 1, "GAUGE", ""))
	cases := []struct {
		method, path, body string
		want               map[string]int
	}{
		{"POST", "/v1/push", body, map[string]int{"": 401, "team": 403, "agent": 403, "ingest": 200, "admin": 200}},
		{"POST", "/api/v1/metrics/push", body, map[string]int{"": 401, "team": 403, "agent": 403, "ingest": 200, "admin": 200}},
		{"GET", "/api/v1/metrics/query?endpoint=h&metric=m", "", map[string]int{"": 401, "team": 403, "agent": 403, "ingest": 403, "admin": 200}},
		{"POST", "/api/v1/metrics/query", `{"series":[{"endpoint":"h","metric":"m"}]}`, map[string]int{"": 401, "team": 403, "agent": 403, "ingest": 403, "admin": 200}},
		{"GET", "/api/v1/metrics/series", "", map[string]int{"": 401, "team": 200, "agent": 403, "ingest": 403, "admin": 200}},
	}
	for _, c := range cases {
		for who, want := range c.want {
			if r := s.do(t, c.method, c.path, who, c.body); r.Status != want {
				t.Errorf("%s %s as %q: %d, want %d: %s", c.method, c.path, who, r.Status, want, r.Body)
			}
		}
	}
}

func TestPushThenQueryBack(t *testing.T) {
	s := newServer(t, serverOptions{})
	t0 := time.Now().Unix()/60*60 - 600
	var items []string
	for i := range 5 {
		items = append(items, item("web-1", "cpu.busy", t0+int64(i)*60, 60, float64(10*i), "GAUGE", "core=0, env=prod"))
	}
	// A numeric string, a counter, and five invalid items of Falcon's kinds.
	items = append(items,
		item("web-1", "net.in", t0+240, 60, "1000", "COUNTER", ""),
		item("", "m", t0, 60, 1, "GAUGE", ""),
		item("web-1", "m", t0, 60, 1, "gauge", ""),
		item("web-1", "m", t0, 60, "abc", "GAUGE", ""),
		item("web-1", "m", t0, 0, 1, "GAUGE", ""),
		"null",
	)
	r := s.do(t, "POST", "/v1/push", "ingest", array(items...))
	if r.Status != 200 {
		t.Fatalf("push: %d %s", r.Status, r.Body)
	}
	rep := decode[monitor.PushReply](t, r)
	if rep.Message != "ok" || rep.Total != 11 || rep.Invalid != 5 {
		t.Fatalf("reply %+v, want ok, total 11, invalid 5", rep)
	}
	q := fmt.Sprintf("endpoint=web-1&metric=cpu.busy&tags=env=prod,core=0&start=%d&end=%d", t0-60, t0+300)
	testenv.Eventually(t, 10*time.Second, func() error {
		v, ok := valueAt(s.query(t, q), t0+240)
		if !ok || v == nil || *v != 40 {
			return fmt.Errorf("value at %d: %v %v", t0+240, ok, v)
		}
		return nil
	})
	got := s.query(t, q)
	sv := got.Series[0]
	if !sv.Found || sv.Tags != "core=0,env=prod" || sv.CounterType != "GAUGE" || sv.Step != 60 || sv.CF != "AVERAGE" {
		t.Fatalf("series %+v", sv)
	}
	// rrdtool's rules: the first GAUGE point is beyond the heartbeat
	// (the series is created 24h earlier), so t0 is unknown; later ones are known.
	if v, ok := valueAt(got, t0); !ok || v != nil {
		t.Errorf("value at the first point: %v %v, want null", ok, v)
	}
	for i := 1; i < 5; i++ {
		if v, ok := valueAt(got, t0+int64(i)*60); !ok || v == nil || *v != float64(10*i) {
			t.Errorf("value at +%dm: %v %v, want %d", i, ok, v, 10*i)
		}
	}
	// The same series named another way (tags in another order, POST form), and an unknown one.
	r = s.do(t, "POST", "/api/v1/metrics/query", "admin", fmt.Sprintf(`{"series":[{"endpoint":"web-1","metric":"cpu.busy","tags":"env=prod,core=0"},{"endpoint":"nope","metric":"x"}],"start":%d,"end":%d,"cf":"MAX"}`, t0, t0+300))
	if r.Status != 200 {
		t.Fatalf("POST query: %d %s", r.Status, r.Body)
	}
	pr := decode[monitor.QueryReply](t, r)
	if len(pr.Series) != 2 || !pr.Series[0].Found || pr.Series[1].Found || len(pr.Series[1].Values) != 0 {
		t.Fatalf("POST query: %+v", pr)
	}
	if v, _ := valueAt(pr, t0+240); v == nil || *v != 40 {
		t.Errorf("MAX at +4m: %v", v)
	}
}

func TestPushBadBodiesStoreNothing(t *testing.T) {
	s := newServer(t, serverOptions{})
	now := time.Now().Unix()
	good := item("h", "m", now, 60, 1, "GAUGE", "")
	for _, c := range []struct{ body, want string }{
		{"", "body must be a JSON array"},
		{`{"endpoint":"h"}`, "body must be a JSON array"},
		{"null", "body must be a JSON array"},
		{array(good, `{"endpoint":"h2","metric":"m","step":"60"}`), `item 1: field "step" must be an integer`},
		{array(good, `{"endpoint":7}`), `item 1: field "endpoint" must be a string`},
		{array(good) + "x", "data after the array"},
		{"[" + good, "expected , or ]"},
	} {
		r := s.do(t, "POST", "/api/v1/metrics/push", "ingest", c.body)
		wantError(t, r, 400, c.want)
		if !strings.Contains(string(r.Body), "nothing was stored") {
			t.Errorf("400 for %q does not say nothing was stored: %s", c.body, r.Body)
		}
	}
	// Nothing of them reached the bus: a good push afterwards is the only series.
	r := s.do(t, "POST", "/v1/push", "ingest", array(item("only", "m", now, 60, 1, "GAUGE", "")))
	if r.Status != 200 {
		t.Fatalf("push: %d %s", r.Status, r.Body)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		rep := decode[monitor.SeriesReply](t, s.do(t, "GET", "/api/v1/metrics/series", "admin", ""))
		if len(rep.Series) != 1 || rep.Series[0].Endpoint != "only" {
			return fmt.Errorf("series %+v", rep.Series)
		}
		return nil
	})
}

func TestPushBodyLimit(t *testing.T) {
	s := newServer(t, serverOptions{})
	big := array(item("h", "m", 1, 60, 1, "GAUGE", strings.Repeat("x", 4<<20)))
	r := s.do(t, "POST", "/v1/push", "ingest", big)
	if r.Status != 413 {
		t.Fatalf("4 MiB+ push: %d %s", r.Status, r.Body)
	}
}

func TestPushBackPressure(t *testing.T) {
	t.Run("too many points queued", func(t *testing.T) {
		s := newServer(t, serverOptions{fn: monitor.Options{MaxQueued: 2, RetryAfter: 3 * time.Second}})
		now := time.Now().Unix()
		r := s.do(t, "POST", "/v1/push", "ingest", array(item("a", "m", now, 60, 1, "GAUGE", ""), item("b", "m", now, 60, 1, "GAUGE", ""), item("c", "m", now, 60, 1, "GAUGE", "")))
		wantError(t, r, 503, "too many points queued")
		if r.Get("Retry-After") != "3" {
			t.Errorf("Retry-After %q, want 3", r.Get("Retry-After"))
		}
		if r := s.do(t, "POST", "/v1/push", "ingest", array(item("a", "m", now, 60, 1, "GAUGE", ""))); r.Status != 200 {
			t.Fatalf("small push: %d %s", r.Status, r.Body)
		}
	})
	t.Run("nsqd down", func(t *testing.T) {
		s := newServer(t, serverOptions{fn: monitor.Options{PublishTimeout: 2 * time.Second}})
		now := time.Now().Unix()
		s.nsqd.Stop()
		r := s.do(t, "POST", "/v1/push", "ingest", array(item("a", "m", now, 60, 1, "GAUGE", "")))
		wantError(t, r, 503, "message bus did not take them")
		if r.Get("Retry-After") != "5" {
			t.Errorf("Retry-After %q, want 5", r.Get("Retry-After"))
		}
		if strings.Contains(string(r.Body), s.tokens["ingest"]) {
			t.Fatal("token in the error body")
		}
		s.nsqd.Start()
		testenv.Eventually(t, 15*time.Second, func() error {
			if r := s.do(t, "POST", "/v1/push", "ingest", array(item("a", "m", now, 60, 1, "GAUGE", ""))); r.Status != 200 {
				return fmt.Errorf("push after restart: %d %s", r.Status, r.Body)
			}
			return nil
		})
	})
}

// TestPointsGoToTheirRingShard: every point arrives on the judge topic of
// the shard Falcon's ring gives its PK, once, in a batch message.
func TestPointsGoToTheirRingShard(t *testing.T) {
	const shards = 4
	s := newServer(t, serverOptions{fn: monitor.Options{Shards: shards}, noSeries: true})
	rg, err := ring.New(ring.DefaultReplicas, wire.ShardMembers(shards))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[string]int{} // pk -> shard
	for sh := range shards {
		c, err := bus.NewConsumer(bus.ConsumerOptions{Topic: wire.JudgeTopic(sh), Channel: "test", NSQDAddrs: []string{s.nsqd.Addr},
			Handler: func(_ context.Context, m *bus.Message) error {
				ps, err := metric.DecodeBatch(m.Body)
				if err != nil {
					return err
				}
				mu.Lock()
				defer mu.Unlock()
				for _, p := range ps {
					if prev, dup := got[p.PK()]; dup {
						t.Errorf("%s twice (shards %d, %d)", p.PK(), prev, sh)
					}
					got[p.PK()] = sh
				}
				return nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	now := time.Now().Unix()
	var items []string
	for i := range 200 {
		items = append(items, item(fmt.Sprintf("host-%d", i%20), fmt.Sprintf("m%d", i/20), now, 60, i, "GAUGE", "b=2,a=1"))
	}
	if r := s.do(t, "POST", "/v1/push", "ingest", array(items...)); r.Status != 200 {
		t.Fatalf("push: %d %s", r.Status, r.Body)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(got) != 200 {
			return fmt.Errorf("%d of 200 points", len(got))
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	for pk, sh := range got {
		if want := rg.Index(pk); sh != want {
			t.Errorf("%s on shard %d, ring says %d", pk, sh, want)
		}
		if !strings.HasSuffix(pk, "/a=1,b=2") {
			t.Errorf("%s: tags not canonical", pk)
		}
	}
}

// TestPushOverRawTCP: a pusher that sends a huge Content-Length and
// stops, or garbage, gets an answer and the gateway keeps serving.
func TestPushOverRawTCP(t *testing.T) {
	s := newServer(t, serverOptions{})
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 3\r\n\r\n[[[", s.tokens["ingest"])
	buf := make([]byte, 4096)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _ := conn.Read(buf)
	if !strings.HasPrefix(string(buf[:n]), "HTTP/1.1 400") {
		t.Fatalf("answer %q", buf[:n])
	}
	if r := s.do(t, "POST", "/v1/push", "ingest", "[]"); r.Status != 200 {
		t.Fatalf("empty push: %d %s", r.Status, r.Body)
	}
}
