package monitor_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/metric"
)

// gatedPublisher holds every MultiPublish until open is closed.
type gatedPublisher struct {
	monitor.Publisher
	open chan struct{}
}

func (g *gatedPublisher) MultiPublish(ctx context.Context, topic string, bodies [][]byte) error {
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
	gate := &gatedPublisher{open: make(chan struct{})}
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
		c, err := bus.NewConsumer(bus.ConsumerOptions{Topic: topic, Channel: "test", NSQDAddrs: []string{s.nsqd.Addr},
			Handler: func(_ context.Context, m *bus.Message) error {
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
			}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
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
	// Push 0's round is held at the gate; pushes 1–3 queue behind it.
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := s.fn.PendingChunks(0); n != 0 {
			return fmt.Errorf("%d chunks pending before push 0's round took them", n)
		}
		return nil
	})
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
