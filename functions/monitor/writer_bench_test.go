package monitor_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/metric"
)

// BenchmarkWriter: batches of 1,000 points (1,000 series of one shard, one
// step later each round) published to a real nsqd, until the series
// writer has applied all of them to its store on disk, with an fsync of
// the log as soon as the previous one is done (sync-0) or at most every
// 50 ms (sync-50ms, serve's default); syncs/s are the writer's fsyncs.
func BenchmarkWriter(b *testing.B) {
	for _, every := range []time.Duration{0, 50 * time.Millisecond} {
		b.Run(fmt.Sprintf("sync-%s", every), func(b *testing.B) { benchWriter(b, every) })
	}
}

func benchWriter(b *testing.B, syncInterval time.Duration) {
	nsqd := testenv.StartNSQD(b)
	set := metrics.NewSet()
	prod, err := bus.NewProducer(bus.ProducerOptions{Addrs: []string{nsqd.Addr}})
	if err != nil {
		b.Fatal(err)
	}
	defer prod.Close()
	startWriter(b, nsqd, 1, set, func(o *monitor.WriterOptions) { o.SyncInterval, o.MaxInFlight = syncInterval, 64 })
	accepted := set.GetOrCreateCounter(`wharf_monitor_series_points_total{result="accepted"}`)
	stale := set.GetOrCreateCounter(`wharf_monitor_series_points_total{result="stale"}`)
	points := make([]metric.Point, 1000)
	t0 := time.Now().Unix()/60*60 - 3600*24
	ctx := context.Background()
	round := 0
	start := time.Now()
	for b.Loop() {
		for i := range points {
			points[i] = metric.Point{Endpoint: fmt.Sprintf("host-%d", i), Metric: "cpu.busy", CounterType: metric.Gauge, Step: 60, Time: t0 + int64(round)*60, Value: float64(i)}
		}
		round++
		if err := prod.MultiPublish(ctx, wire.SeriesTopic(0), [][]byte{metric.AppendBatch(nil, points)}); err != nil {
			b.Fatal(err)
		}
	}
	want := uint64(round * len(points))
	testenv.Eventually(b, 5*time.Minute, func() error {
		if n := accepted.Get() + stale.Get(); n < want {
			return fmt.Errorf("%d of %d points written", n, want)
		}
		return nil
	})
	took := time.Since(start).Seconds()
	b.ReportMetric(float64(want)/took, "points/s")
	b.ReportMetric(float64(set.GetOrCreateCounter("wharf_monitor_series_syncs_total").Get())/took, "syncs/s")
}
