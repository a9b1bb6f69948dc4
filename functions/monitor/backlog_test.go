package monitor_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/testenv"
)

// consumeJudgeTopics reads every shard's judge topic on the judge's
// channel, finishing each message, until the test ends: a judge that keeps up.
func consumeJudgeTopics(t *testing.T, nsqd *testenv.NSQD, shards int) {
	t.Helper()
	for sh := range shards {
		c, err := bus.NewConsumer(bus.ConsumerOptions{Topic: wire.JudgeTopic(sh), Channel: wire.JudgeChannel, NSQDAddrs: []string{nsqd.Addr},
			Handler: func(context.Context, *bus.Message) error { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			<-done
		})
	}
}

// pushN pushes n points, one series each (endpoints endpoint-0 ..
// endpoint-(n-1)), and returns the answer.
func (s *server) pushN(t *testing.T, endpoint string, n int, ts int64) (int, string, string) {
	t.Helper()
	items := make([]string, n)
	for i := range items {
		items[i] = item(endpoint+"-"+strconv.Itoa(i), "m", ts, 60, i, "GAUGE", "")
	}
	r := s.do(t, "POST", "/v1/push", "ingest", array(items...))
	return r.Status, r.Get("Retry-After"), string(r.Body)
}

// TestPushBacklog: with no judge reading its channel the judge backlog
// grows past monitoring.max_backlog and pushes get 503 with Retry-After
// (nothing of them stored; counted); once a judge drains the channel,
// pushes are accepted again.
func TestPushBacklog(t *testing.T) {
	const shards = 2
	s := newServer(t, serverOptions{fn: monitor.Options{Shards: shards},
		backlog: &monitor.BacklogOptions{MaxPoints: 50, RetryAfter: 3 * time.Second, Interval: 100 * time.Millisecond}})
	ts := time.Now().Unix() / 60 * 60
	// The series writer keeps up; the judge channels exist (a judge ran
	// once) and nothing reads them.
	for i := range shards {
		createChannel(t, s.nsqd.HTTPAddr, wire.JudgeTopic(i), wire.JudgeChannel)
	}
	if st, _, body := s.pushN(t, "first", 40, ts); st != 200 {
		t.Fatalf("first push: %d %s", st, body)
	}
	if st, _, body := s.pushN(t, "second", 40, ts); st != 200 && st != 503 {
		t.Fatalf("second push: %d %s", st, body)
	}
	var refusal string
	testenv.Eventually(t, 10*time.Second, func() error {
		st, ra, body := s.pushN(t, "probe", 5, ts) // accepted until the watch sees the backlog
		if st != 503 || ra != "3" {
			return fmt.Errorf("push past the backlog: %d, Retry-After %q: %s", st, ra, body)
		}
		if !strings.Contains(body, "channel judge") || !strings.Contains(body, "monitoring.max_backlog") || !strings.Contains(body, "nothing of this push was stored") {
			return fmt.Errorf("error body does not say why: %s", body)
		}
		refusal = body
		return nil
	})
	if strings.Contains(refusal, s.tokens["ingest"]) {
		t.Fatal("token in the answer")
	}
	if st, _, body := s.pushN(t, "refused", 5, ts); st != 503 {
		t.Fatalf("push past the backlog: %d %s", st, body)
	}
	if v := s.metricValue(`wharf_monitor_push_rejected_total{reason="backlog"}`); v == "" || v == "0" {
		t.Fatalf("rejected{backlog} = %q", v)
	}
	if v, _ := strconv.ParseFloat(s.metricValue(`wharf_monitor_backlog_points{channel="judge"}`), 64); v <= 50 {
		t.Fatalf("judge backlog gauge %v, want > 50", v)
	}
	// The series of the first push are stored (the writer kept up), those
	// of the refused pushes never are.
	testenv.Eventually(t, 10*time.Second, func() error {
		if !s.listed(t, "first-0") {
			return fmt.Errorf("first push not stored yet")
		}
		return nil
	})
	if s.listed(t, "refused-0") {
		t.Fatal("a refused push was stored")
	}

	consumeJudgeTopics(t, s.nsqd, shards)
	testenv.Eventually(t, 15*time.Second, func() error {
		if st, _, body := s.pushN(t, "after", 5, ts); st != 200 {
			return fmt.Errorf("push after the judge drained: %d %s", st, body)
		}
		return nil
	})
	testenv.Eventually(t, 10*time.Second, func() error {
		if !s.listed(t, "after-0") {
			return fmt.Errorf("push after the drain not stored yet")
		}
		return nil
	})
	if v := s.metricValue(`wharf_monitor_backlog_stats_errors_total`); v != "0" {
		t.Fatalf("stats errors %q on a healthy nsqd", v)
	}
}

// TestPushBacklogPausedSeries: a paused series channel (the writer
// connected but getting nothing) backs up as well, and the Retry-After
// of a stalled channel is monitoring.retry_after.
func TestPushBacklogPausedSeries(t *testing.T) {
	const shards = 1
	s := newServer(t, serverOptions{fn: monitor.Options{Shards: shards},
		backlog: &monitor.BacklogOptions{MaxPoints: 20, RetryAfter: 7 * time.Second, Interval: 100 * time.Millisecond}})
	consumeJudgeTopics(t, s.nsqd, shards)
	ts := time.Now().Unix() / 60 * 60
	// The writer subscribes in the background: pause its channel once it exists.
	testenv.Eventually(t, 10*time.Second, func() error {
		return nsqdPost(s.nsqd.HTTPAddr, "/channel/pause?topic="+wire.SeriesTopic(0)+"&channel="+wire.SeriesChannel)
	})
	if st, _, body := s.pushN(t, "first", 30, ts); st != 200 {
		t.Fatalf("first push: %d %s", st, body)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		st, ra, body := s.pushN(t, "probe", 1, ts)
		if st != 503 || ra != "7" || !strings.Contains(body, "channel series") {
			return fmt.Errorf("push past the series backlog: %d, Retry-After %q: %s", st, ra, body)
		}
		return nil
	})
	if st, _, body := s.pushN(t, "refused", 1, ts); st != 503 {
		t.Fatalf("push past the series backlog: %d %s", st, body)
	}
	if err := nsqdPost(s.nsqd.HTTPAddr, "/channel/unpause?topic="+wire.SeriesTopic(0)+"&channel="+wire.SeriesChannel); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 15*time.Second, func() error {
		if st, _, body := s.pushN(t, "after", 1, ts); st != 200 {
			return fmt.Errorf("push after unpause: %d %s", st, body)
		}
		return nil
	})
	testenv.Eventually(t, 10*time.Second, func() error {
		if !s.listed(t, "first-0") || !s.listed(t, "after-0") {
			return fmt.Errorf("accepted pushes not stored yet")
		}
		return nil
	})
	if s.listed(t, "refused-0") {
		t.Fatal("a refused push was stored")
	}
}

// listed reports whether the series index has a series of endpoint.
func (s *server) listed(t *testing.T, endpoint string) bool {
	t.Helper()
	r := s.do(t, "GET", "/api/v1/metrics/series?endpoint="+endpoint, "admin", "")
	if r.Status != 200 {
		t.Fatalf("series: %d %s", r.Status, r.Body)
	}
	return len(decode[monitor.SeriesReply](t, r).Series) > 0
}

// nsqdPost calls nsqd's HTTP API.
func nsqdPost(addr, path string) error {
	resp, err := http.Post("http://"+addr+path, "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("POST %s: %s", path, resp.Status)
	}
	return nil
}

// TestPushBacklogFailOpen: when the stats cannot be read, pushes are
// accepted (never blocked on the stats endpoint), the failure is logged
// once and counted.
func TestPushBacklogFailOpen(t *testing.T) {
	logs := &syncBuffer{}
	dead := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)) // nothing listens there
	s := newServer(t, serverOptions{noSeries: true, backlog: &monitor.BacklogOptions{MaxPoints: 1, Interval: 50 * time.Millisecond,
		NSQDHTTPAddrs: []string{dead}, Logger: slog.New(slog.NewTextHandler(logs, nil))}})
	ts := time.Now().Unix() / 60 * 60
	for i := range 5 {
		if st, _, body := s.pushN(t, fmt.Sprintf("h%d", i), 10, ts); st != 200 {
			t.Fatalf("push %d with the stats down: %d %s", i, st, body)
		}
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if v, _ := strconv.Atoi(s.metricValue("wharf_monitor_backlog_stats_errors_total")); v < 3 {
			return fmt.Errorf("stats errors %d, want at least 3", v)
		}
		return nil
	})
	if st, _, body := s.pushN(t, "late", 10, ts); st != 200 {
		t.Fatalf("push with the stats down: %d %s", st, body)
	}
	if n := strings.Count(logs.String(), "cannot read the nsqd stats"); n != 1 {
		t.Fatalf("warning logged %d times, want once:\n%s", n, logs.String())
	}
}

// TestBacklogThroughLookupd: with nsqlookupd the watch finds the nsqds of
// the shard topics itself and sums their backlogs.
func TestBacklogThroughLookupd(t *testing.T) {
	lookupd := testenv.StartNSQLookupd(t)
	lookupTCP := lookupd.Addr
	var nsqds []*testenv.NSQD
	for range 2 {
		nsqds = append(nsqds, testenv.StartNSQD(t, testenv.NSQDOptions{LookupdTCPAddrs: []string{lookupTCP}}))
	}
	set := metrics.NewSet()
	b, err := monitor.NewBacklog(monitor.BacklogOptions{LookupdHTTPAddrs: []string{lookupd.HTTPAddr}, Shards: 2, MaxPoints: 1000,
		Interval: 50 * time.Millisecond, Metrics: set})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	// 3 messages on one nsqd's judge channel, 2 on the other's, nobody
	// reading them. Nothing published through this process: one point per
	// message.
	for i, n := range []int{3, 2} {
		createChannel(t, nsqds[i].HTTPAddr, wire.JudgeTopic(i), wire.JudgeChannel)
		p, err := bus.NewProducer(bus.ProducerOptions{Addrs: []string{nsqds[i].Addr}})
		if err != nil {
			t.Fatal(err)
		}
		bodies := make([][]byte, n)
		for j := range bodies {
			bodies[j] = []byte("x")
		}
		if err := p.MultiPublish(context.Background(), wire.JudgeTopic(i), bodies); err != nil {
			t.Fatal(err)
		}
		_ = p.Close()
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		var w strings.Builder
		set.WritePrometheus(&w)
		if !strings.Contains(w.String(), `wharf_monitor_backlog_points{channel="judge"} 5`+"\n") ||
			!strings.Contains(w.String(), `wharf_monitor_backlog_points{channel="series"} 0`+"\n") {
			return fmt.Errorf("gauges:\n%s", w.String())
		}
		return nil
	})
}

func TestNewBacklogBadOptions(t *testing.T) {
	for name, o := range map[string]monitor.BacklogOptions{
		"no address": {MaxPoints: 1},
		"no max":     {NSQDHTTPAddrs: []string{"127.0.0.1:1"}},
		"shards":     {NSQDHTTPAddrs: []string{"127.0.0.1:1"}, MaxPoints: 1, Shards: -1},
	} {
		if _, err := monitor.NewBacklog(o); err == nil || !strings.HasPrefix(err.Error(), "cannot create backlog watch") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// createChannel creates a topic's channel on an nsqd (HTTP API), as a
// consumer that subscribed once leaves it.
func createChannel(t *testing.T, nsqdHTTP, topic, channel string) {
	t.Helper()
	for _, u := range []string{"http://" + nsqdHTTP + "/topic/create?topic=" + topic,
		"http://" + nsqdHTTP + "/channel/create?topic=" + topic + "&channel=" + channel} {
		resp, err := http.Post(u, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s", u, resp.Status)
		}
	}
}
