package monitor

import (
	"context"
	"testing"

	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/monitoring/metric"
)

// wharf_monitor_series_syncs_total counts the fsyncs of the logs the
// writer acknowledged batches after, not its Sync calls: a batch whose
// points were all rejected wrote no record, and its Sync made no fsync
// (it used to count one; found by review).
func TestSyncsMetricCountsFsyncs(t *testing.T) {
	w, err := NewWriter(WriterOptions{Dir: t.TempDir(), Shards: 1, NSQDAddrs: []string{"127.0.0.1:1"}, MaxInFlight: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	sr := w.shards[0]
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.commit(ctx, 0, sr.store, sr.queue) }()
	t.Cleanup(func() { cancel(); <-done })
	handle := w.handler(0, sr.queue)
	t0 := int64(1_700_000_000) / 60 * 60
	body := func(step int64) []byte {
		return metric.AppendBatch(nil, []metric.Point{{Endpoint: "h", Metric: "cpu.busy", CounterType: metric.Gauge, Step: step, Time: t0, Value: 1}})
	}
	before := sr.store.Syncs()
	if err := handle(ctx, &bus.Message{Body: body(60)}); err != nil {
		t.Fatal(err)
	}
	if err := handle(ctx, &bus.Message{Body: body(30)}); err != nil { // rejected: step disagrees
		t.Fatal(err)
	}
	fsyncs, counted := sr.store.Syncs()-before, w.stats.syncs.Get()
	if counted != fsyncs {
		t.Fatalf("wharf_monitor_series_syncs_total = %d, fsyncs of the log = %d", counted, fsyncs)
	}
}
