package cluster

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/redis/go-redis/v9"

	"github.com/wharfhq/wharf/gateway/ratelimit"
	"github.com/wharfhq/wharf/internal/testenv"
)

// vclock is a settable virtual clock in ms.
type vclock struct {
	mu  sync.Mutex
	now int64
}

func (c *vclock) ms() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *vclock) set(ms int64) {
	c.mu.Lock()
	c.now = ms
	c.mu.Unlock()
}

// logBuf collects log output for assertions.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type node struct {
	*Cluster
	client  *redis.Client
	metrics *metrics.Set
	logs    *logBuf
}

func newClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(ClientOptions(addr))
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// newNode returns a Cluster on its own client, metrics set and log buffer.
func newNode(t testing.TB, addr string, opts Options) *node {
	t.Helper()
	n := &node{client: newClient(t, addr), metrics: metrics.NewSet(), logs: &logBuf{}}
	opts.Client = n.client
	opts.Metrics = n.metrics
	opts.Logger = slog.New(slog.NewTextHandler(n.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	n.Cluster = c
	return n
}

// run starts Run until the test ends.
func (n *node) run(t testing.TB) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = n.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// metric returns the value of one exposed metric line ("" if absent).
func (n *node) metric(name string) string {
	var b bytes.Buffer
	n.metrics.WritePrometheus(&b)
	for _, line := range strings.Split(b.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}

func mustZone(t testing.TB, r *ratelimit.Registry, l ratelimit.Limit) *ratelimit.Zone {
	t.Helper()
	z, err := r.NewZone(l, 0)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func mustSet(t testing.TB, c *Cluster, zones ...*ratelimit.Zone) *Set {
	t.Helper()
	s, err := c.NewSet(zones...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// startRedis starts a redis-server without fsync: testenv's fsyncs every
// write (appendfsync always), and on a busy disk that stalls Redis for long
// enough to distort rate measurements. Rate-limit state is soft anyway.
func startRedis(t testing.TB) *testenv.Redis {
	t.Helper()
	r := testenv.StartRedis(t)
	if err := newClient(t, r.Addr).ConfigSet(context.Background(), "appendfsync", "no").Err(); err != nil {
		t.Fatal(err)
	}
	return r
}

// hammerResult counts the decisions of a hammer run. First and Last are the
// start times of the earliest and the latest decision: the window over which
// the limit was offered load. (Under CPU contention the goroutines may start
// late or stall at the end; measuring the window this way keeps the
// expectation honest.)
type hammerResult struct {
	admitted, rejected int64
	first, last        time.Time
}

func (h hammerResult) window() time.Duration { return h.last.Sub(h.first) }

func (h *hammerResult) add(o hammerResult) {
	h.admitted += o.admitted
	h.rejected += o.rejected
	if h.first.IsZero() || (!o.first.IsZero() && o.first.Before(h.first)) {
		h.first = o.first
	}
	if o.last.After(h.last) {
		h.last = o.last
	}
}

// hammer decides keys from g goroutines until stop is closed and reports any
// decision that is neither an admission nor a 429 rejection.
func hammer(t testing.TB, s *Set, keys [][]byte, g int, stop <-chan struct{}) hammerResult {
	var mu sync.Mutex
	var total hammerResult
	var wg sync.WaitGroup
	for range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var h hammerResult
			for {
				select {
				case <-stop:
					mu.Lock()
					total.add(h)
					mu.Unlock()
					return
				default:
				}
				now := time.Now()
				if h.first.IsZero() {
					h.first = now
				}
				h.last = now
				d := s.Decide(keys)
				switch {
				case d.Outcome == ratelimit.Rejected && d.Status == 429:
					h.rejected++
				case d.Outcome == ratelimit.Passed || d.Outcome == ratelimit.Delayed:
					h.admitted++
				default:
					t.Errorf("unexpected decision %+v", d)
				}
			}
		}()
	}
	wg.Wait()
	return total
}

// hammerFor runs hammer for d.
func hammerFor(t testing.TB, s *Set, keys [][]byte, g int, d time.Duration) hammerResult {
	stop := make(chan struct{})
	timer := time.AfterFunc(d, func() { close(stop) })
	defer timer.Stop()
	return hammer(t, s, keys, g, stop)
}
