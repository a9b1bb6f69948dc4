package monitor_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/metric"
)

// gatedPublisher holds every MultiPublish until open is closed; reached
// is closed by the first call.
type gatedPublisher struct {
	monitor.Publisher
	open    chan struct{}
	reached chan struct{}
	once    sync.Once
}

func (g *gatedPublisher) MultiPublish(ctx context.Context, topic string, bodies [][]byte) error {
	g.once.Do(func() { close(g.reached) })
	select {
	case <-g.open:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.Publisher.MultiPublish(ctx, topic, bodies)
}

// TestPushesArrivingDuringAPublishShareMessages: while a push's messages
// are on their way to nsqd, the pushes that arrive for the same shard
// wait and then go out together, in messages joining their points (at
// most 4,000 each), in both batch formats; every push is answered 200 and
// every point arrives once on both topics.
func TestPushesArrivingDuringAPublishShareMessages(t *testing.T) {
	for name, format := range map[string]metric.BatchFormat{"binary": metric.BatchBinary, "json": metric.BatchJSON} {
		t.Run(name, func(t *testing.T) { testPushesShareMessages(t, format) })
	}
}

func testPushesShareMessages(t *testing.T, format metric.BatchFormat) {
	gate := &gatedPublisher{open: make(chan struct{}), reached: make(chan struct{})}
	s := newServer(t, serverOptions{fn: monitor.Options{Shards: 1, BatchFormat: format, PublishTimeout: 30 * time.Second}, noSeries: true,
		publisher: func(p monitor.Publisher) monitor.Publisher { gate.Publisher = p; return gate }})
	type topicSeen struct {
		mu       sync.Mutex
		points   map[string]int
		messages []int
	}
	seen := map[string]*topicSeen{}
	for _, topic := range []string{wire.SeriesTopic(0), wire.JudgeTopic(0)} {
		ts := &topicSeen{points: map[string]int{}}
		seen[topic] = ts
		s.consume(t, topic, func(_ context.Context, m *bus.Message) error {
			ps, err := metric.DecodeBatch(m.Body)
			if err != nil {
				t.Errorf("%s: %v", topic, err)
				return nil
			}
			ts.mu.Lock()
			defer ts.mu.Unlock()
			ts.messages = append(ts.messages, len(ps))
			for _, p := range ps {
				ts.points[p.PK()]++
			}
			return nil
		})
	}

	const per = 2500 // chunks of 1,000, 1,000 and 500 points
	now := time.Now().Unix()
	push := func(p int) error {
		var items []string
		for i := range per {
			items = append(items, item(fmt.Sprintf("h%d", p), fmt.Sprintf("m%d", i), now, 60, i, "GAUGE", "k=v"))
		}
		if r := s.do(t, "POST", "/v1/push", "ingest", array(items...)); r.Status != 200 {
			return fmt.Errorf("push %d: %d %s", p, r.Status, r.Body)
		}
		return nil
	}
	errs := make(chan error, 4)
	go func() { errs <- push(0) }()
	<-gate.reached // push 0's round is held at the gate; pushes 1–3 queue behind it
	if n := s.fn.PendingChunks(0); n != 0 {
		t.Fatalf("%d chunks pending besides push 0's round", n)
	}
	for p := 1; p <= 3; p++ {
		go func() { errs <- push(p) }()
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := s.fn.PendingChunks(0); n != 9 {
			return fmt.Errorf("%d of 9 chunks of pushes 1–3 pending", n)
		}
		return nil
	})
	close(gate.open)
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for topic, ts := range seen {
		testenv.Eventually(t, 15*time.Second, func() error {
			ts.mu.Lock()
			defer ts.mu.Unlock()
			if len(ts.points) != 4*per {
				return fmt.Errorf("%s: %d of %d series", topic, len(ts.points), 4*per)
			}
			return nil
		})
		ts.mu.Lock()
		for pk, n := range ts.points {
			if n != 1 {
				t.Errorf("%s: %s arrived %d times", topic, pk, n)
			}
		}
		// Push 0 alone (2,500 points), then pushes 1–3 joined (7,500):
		// binary messages are bounded by 4,000 points (one message, then
		// two: 3 where a message per chunk made 12); JSON ones, bigger,
		// also by 256 KiB (two, then five: 7).
		want := map[metric.BatchFormat]int{metric.BatchBinary: 3, metric.BatchJSON: 7}[format]
		total := 0
		for _, n := range ts.messages {
			total += n
			if n > 4000 {
				t.Errorf("%s: a message of %d points", topic, n)
			}
		}
		if len(ts.messages) != want || total != 4*per {
			t.Errorf("%s: messages of %v points; want %d messages", topic, ts.messages, want)
		}
		ts.mu.Unlock()
	}
}

// stalledPublisher takes nothing while stalled (each call waits for its
// deadline); once healthy it publishes. It keeps the bodies list of its
// first call, as a publish still running after its caller gave up would.
type stalledPublisher struct {
	monitor.Publisher
	healthy atomic.Bool
	mu      sync.Mutex
	first   [][]byte
	firstPK []string
}

func (p *stalledPublisher) MultiPublish(ctx context.Context, topic string, bodies [][]byte) error {
	if p.healthy.Load() {
		return p.Publisher.MultiPublish(ctx, topic, bodies)
	}
	p.mu.Lock()
	if p.first == nil {
		p.first = bodies
		for _, b := range bodies {
			ps, _ := metric.DecodeBatch(b)
			for _, pt := range ps {
				p.firstPK = append(p.firstPK, pt.PK())
			}
		}
	}
	p.mu.Unlock()
	<-ctx.Done()
	return ctx.Err()
}

// TestStalledBusKeepsNothingOfPushesThatGaveUp: while nsqd takes nothing,
// pushes time out with 503 and their chunks that no round took are
// withdrawn, so nothing piles up behind the outage; once nsqd answers
// again, a fresh push is answered 200 at once and only its points are
// published — none of the pushes answered 503. A timed-out publish's list
// of messages is never reused under it.
func TestStalledBusKeepsNothingOfPushesThatGaveUp(t *testing.T) {
	stalled := &stalledPublisher{}
	s := newServer(t, serverOptions{fn: monitor.Options{Shards: 1, PublishTimeout: 300 * time.Millisecond}, noSeries: true,
		publisher: func(p monitor.Publisher) monitor.Publisher { stalled.Publisher = p; return stalled }})
	var mu sync.Mutex
	arrived := map[string]int{}
	s.consume(t, wire.SeriesTopic(0), func(_ context.Context, m *bus.Message) error {
		ps, err := metric.DecodeBatch(m.Body)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, p := range ps {
			arrived[p.Endpoint]++
		}
		return nil
	})

	now := time.Now().Unix()
	body := func(ep string, n int) string {
		var items []string
		for i := range n {
			items = append(items, item(ep, fmt.Sprintf("m%d", i), now, 60, i, "GAUGE", ""))
		}
		return array(items...)
	}
	for wave := range 3 {
		var wg sync.WaitGroup
		for p := range 6 {
			wg.Go(func() {
				if r := s.do(t, "POST", "/v1/push", "ingest", body(fmt.Sprintf("stale%d-%d", wave, p), 500)); r.Status != 503 {
					t.Errorf("push to a stalled bus: %d %s", r.Status, r.Body)
				}
			})
		}
		wg.Wait()
		// Every push answered: what no round took was withdrawn.
		if n := s.fn.PendingChunks(0); n != 0 {
			t.Fatalf("wave %d: %d chunks of answered pushes still wait", wave, n)
		}
	}
	stalled.healthy.Store(true)
	// The round of the last wave may still run until its deadline; a
	// fresh push is then answered at once.
	testenv.Eventually(t, 10*time.Second, func() error {
		if r := s.do(t, "POST", "/v1/push", "ingest", body("fresh", 3)); r.Status != 200 {
			return fmt.Errorf("fresh push: %d %s", r.Status, r.Body)
		}
		return nil
	})
	testenv.Eventually(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if arrived["fresh"] < 3 {
			return fmt.Errorf("%d of the fresh push's 3 points arrived", arrived["fresh"])
		}
		return nil
	})
	mu.Lock()
	for ep := range arrived {
		if ep != "fresh" {
			t.Errorf("points of %s, a push answered 503, were published", ep)
		}
	}
	mu.Unlock()
	// The first timed-out publish's messages still hold its points.
	stalled.mu.Lock()
	defer stalled.mu.Unlock()
	var pks []string
	for _, b := range stalled.first {
		ps, err := metric.DecodeBatch(b)
		if err != nil {
			t.Fatalf("the timed-out publish's messages were reused: %v", err)
		}
		for _, p := range ps {
			pks = append(pks, p.PK())
		}
	}
	if !slices.Equal(pks, stalled.firstPK) {
		t.Fatalf("the timed-out publish's messages changed under it: %d points, first %d", len(pks), len(stalled.firstPK))
	}
}
