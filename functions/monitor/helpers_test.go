package monitor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/buntstore"
	"github.com/wharfhq/wharf/internal/testenv"
)

// server is the monitor function and its series writer behind a real
// gateway, Mux, buntdb token store and nsqd.
type server struct {
	addr   string
	nsqd   *testenv.NSQD
	fn     *monitor.Function
	writer *monitor.Writer // nil with noSeries
	st     store.Store
	set    *metrics.Set
	tokens map[string]string // by scope: admin, ingest, agent, team (shop), other (team bank), multi (both)
}

type serverOptions struct {
	fn      monitor.Options
	gateway gateway.Options
	// noSeries runs no series writer (tests of the push side only).
	noSeries bool
	// writer changes the series writer's options.
	writer func(*monitor.WriterOptions)
	// backlog, if set, runs a backlog watch with these options (nsqd's
	// HTTP address unless addresses are given).
	backlog *monitor.BacklogOptions
	// publisher, if set, wraps the real producer the function publishes with.
	publisher func(monitor.Publisher) monitor.Publisher
}

func newServer(t *testing.T, o serverOptions) *server {
	t.Helper()
	nsqd := testenv.StartNSQD(t)
	st, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	svc := auth.NewService(st)
	ctx := context.Background()
	admin, err := svc.Bootstrap(ctx, filepath.Join(t.TempDir(), "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	s := &server{nsqd: nsqd, st: st, set: metrics.NewSet(), tokens: map[string]string{"admin": admin}}
	for name, scope := range map[string]string{"ingest": auth.ScopeIngest, "agent": auth.ScopeAgent, "team": auth.TeamScope("shop"), "other": auth.TeamScope("bank")} {
		_, tok, err := svc.Create(ctx, auth.CreateRequest{Name: name, Scopes: []string{scope}})
		if err != nil {
			t.Fatal(err)
		}
		s.tokens[name] = tok
	}
	_, multi, err := svc.Create(ctx, auth.CreateRequest{Name: "multi", Scopes: []string{auth.TeamScope("shop"), auth.TeamScope("bank")}})
	if err != nil {
		t.Fatal(err)
	}
	s.tokens["multi"] = multi
	prod, err := bus.NewProducer(bus.ProducerOptions{Addrs: []string{nsqd.Addr}, PublishTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prod.Close() })
	o.fn.Publisher, o.fn.Metrics, o.fn.Store = prod, s.set, st
	if o.publisher != nil {
		o.fn.Publisher = o.publisher(prod)
	}
	if !o.noSeries {
		var edit []func(*monitor.WriterOptions)
		if o.writer != nil {
			edit = append(edit, o.writer)
		}
		o.fn.Series = startWriter(t, nsqd, o.fn.Shards, s.set, edit...)
		s.writer = o.fn.Series
	}
	if o.backlog != nil {
		o.fn.Backlog = startBacklog(t, nsqd, *o.backlog, o.fn.Shards, s.set)
	}
	s.fn, err = monitor.New(o.fn)
	if err != nil {
		t.Fatal(err)
	}
	mux := fnapi.NewMux(svc, nil)
	if err := mux.Register(s.fn); err != nil {
		t.Fatal(err)
	}
	g := gatewaytest.Start(t, o.gateway, mux)
	s.addr = g.Addr().String()
	return s
}

// startWriter runs a series writer of every shard until the test ends;
// edit, if given, changes its options.
func startWriter(t testing.TB, nsqd *testenv.NSQD, shards int, set *metrics.Set, edit ...func(*monitor.WriterOptions)) *monitor.Writer {
	t.Helper()
	opts := monitor.WriterOptions{Dir: t.TempDir(), Shards: shards, NSQDAddrs: []string{nsqd.Addr}, Metrics: set}
	for _, e := range edit {
		e(&opts)
	}
	w, err := monitor.NewWriter(opts)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("writer: %v", err)
		}
	})
	return w
}

// startBacklog runs a backlog watch until the test ends.
func startBacklog(t testing.TB, nsqd *testenv.NSQD, opts monitor.BacklogOptions, shards int, set *metrics.Set) *monitor.Backlog {
	t.Helper()
	if len(opts.NSQDHTTPAddrs) == 0 && len(opts.LookupdHTTPAddrs) == 0 {
		opts.NSQDHTTPAddrs = []string{nsqd.HTTPAddr}
	}
	opts.Shards, opts.Metrics = shards, set
	b, err := monitor.NewBacklog(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("backlog: %v", err)
		}
	})
	return b
}

func (s *server) do(t *testing.T, method, path, who, body string) gatewaytest.Response {
	t.Helper()
	hdr := map[string]string{}
	if who != "" {
		hdr["Authorization"] = "Bearer " + s.tokens[who]
	}
	if body != "" {
		hdr["Content-Type"] = "application/json"
	}
	return gatewaytest.Do(t, s.addr, method, path, hdr, body)
}

func decode[T any](t *testing.T, r gatewaytest.Response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("response %d is not JSON: %v: %q", r.Status, err, r.Body)
	}
	return v
}

// wantError checks status and that the JSON error names want.
func wantError(t *testing.T, r gatewaytest.Response, status int, want string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	e := decode[struct {
		Error string `json:"error"`
	}](t, r)
	if !strings.Contains(e.Error, want) {
		t.Fatalf("error %q does not contain %q", e.Error, want)
	}
}

// item is one Falcon push item as JSON.
func item(endpoint, metric string, ts, step int64, value any, typ, tags string) string {
	v, _ := json.Marshal(value)
	return fmt.Sprintf(`{"endpoint":%q,"metric":%q,"timestamp":%d,"step":%d,"value":%s,"counterType":%q,"tags":%q}`, endpoint, metric, ts, step, v, typ, tags)
}

func array(items ...string) string { return "[" + strings.Join(items, ",") + "]" }

// query asks for one series and returns its values by timestamp.
func (s *server) query(t *testing.T, q string) monitor.QueryReply {
	t.Helper()
	r := s.do(t, "GET", "/api/v1/metrics/query?"+q, "admin", "")
	if r.Status != 200 {
		t.Fatalf("query %s: %d %s", q, r.Status, r.Body)
	}
	return decode[monitor.QueryReply](t, r)
}

// valueAt returns the value at ts of the first series (nil: null), and whether ts is in the answer.
func valueAt(rep monitor.QueryReply, ts int64) (*float64, bool) {
	if len(rep.Series) == 0 {
		return nil, false
	}
	for _, smp := range rep.Series[0].Values {
		if smp.Timestamp == ts {
			f := float64(smp.Value)
			if f != f {
				return nil, true
			}
			return &f, true
		}
	}
	return nil, false
}

// consume runs a consumer of topic (channel "test") on s's nsqd until the
// test ends.
func (s *server) consume(t *testing.T, topic string, handler bus.HandlerFunc) {
	t.Helper()
	c, err := bus.NewConsumer(bus.ConsumerOptions{Topic: topic, Channel: "test", NSQDAddrs: []string{s.nsqd.Addr}, Handler: handler})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}
