package seriesstore_test

import (
	"fmt"
	"testing"

	"github.com/wharfhq/wharf/monitoring/seriesstore"
)

// BenchmarkStoreAppend100k is Append alone: batches of 1,000 points going
// round 100,000 existing series (keys shaped like the monitoring bench's),
// logged and queued, never synced nor applied (no bound, no checkpoint):
// what the per-point lookup, log record and queueing cost with one cache
// miss or more per point. ns/op is per batch; cpu-ns/point per point.
func BenchmarkStoreAppend100k(b *testing.B) {
	st, err := seriesstore.Open(seriesstore.Options{Dir: b.TempDir(), Logger: quietLogger(), Spec: smallSpec,
		MaxDeferredPoints: 1 << 40, MaxWALBytes: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const series, batch = 100_000, 1000
	keys := make([]string, series)
	for i := range keys {
		keys[i] = fmt.Sprintf("host-%d/bench.load/env=bench,k=%d", i/10, i%10)
	}
	pts := make([]seriesstore.Point, batch)
	t0 := int64(1_700_000_000)
	next := 0
	fill := func() {
		for i := range pts {
			n := next + i
			pts[i] = seriesstore.Point{Key: keys[n%series], Step: 30, CounterType: "GAUGE", Time: t0 + int64(n/series)*30, Value: float64(n % 97)}
		}
		next += batch
	}
	for next < series {
		fill()
		if _, err := st.Update(pts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	var done int
	cpu0 := cpuTime(b)
	for b.Loop() {
		fill()
		if _, err := st.Append(pts); err != nil {
			b.Fatal(err)
		}
		done += batch
	}
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(done), "cpu-ns/point")
}
