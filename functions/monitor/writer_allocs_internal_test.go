package monitor

import (
	"context"
	"fmt"
	"testing"

	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/monitoring/metric"
)

// The series writer's handler costs no allocation per point: a batch of
// 1,000 points (100 endpoints × 10 tag sets, like the monitoring bench's
// series) takes what decoding its distinct strings takes, and the keys of
// the points are views of one reused buffer (each point's PK was a string
// of its own: 1,000+ allocations per batch). The store behind it is a real
// one, in a steady state (the series exist, their queues are sized).
func TestWriterHandlerAllocatesNothingPerPoint(t *testing.T) {
	w, err := NewWriter(WriterOptions{Dir: t.TempDir(), Shards: 1, NSQDAddrs: []string{"127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	sr := w.shards[0]
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.commit(ctx, 0, sr.store, sr.queue) }()
	t.Cleanup(func() { cancel(); <-done })

	const series, rounds, warm = 1000, 61, 40
	bodies := make([][]byte, rounds)
	points := make([]metric.Point, series)
	t0 := int64(1_700_000_000) / 60 * 60
	for r := range bodies {
		for i := range points {
			points[i] = metric.Point{Endpoint: fmt.Sprintf("host-%d", i/10), Metric: "bench.load",
				Tags: fmt.Sprintf("env=bench,k=%d", i%10), CounterType: metric.Gauge, Step: 60,
				Time: t0 + int64(r)*60, Value: float64(i)}
		}
		bodies[r] = metric.AppendBatch(nil, points)
	}
	handle := w.handler(0, sr.queue)
	next := 0
	send := func() {
		if err := handle(ctx, &bus.Message{Body: bodies[next]}); err != nil {
			t.Fatal(err)
		}
		next++
	}
	for range warm { // the series exist, their deferred queues reach the size they keep (64)
		send()
	}
	if err := sr.store.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(rounds-warm-1, send)
	if got := w.stats.accepted.Get(); got != uint64(next*series) {
		t.Fatalf("accepted %d points, want %d", got, next*series)
	}
	// A binary batch decodes into the request's reused points with its
	// strings as views of the message (111 allocations before: its
	// distinct strings and its point slice).
	if allocs > 5 {
		t.Errorf("%.0f allocations per batch of %d points, want at most 5 (none per point)", allocs, series)
	}
	t.Logf("%.0f allocations per batch of %d points", allocs, series)
}
