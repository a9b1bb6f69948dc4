package judge

import (
	"context"
	"testing"
	"time"

	"github.com/wharfhq/wharf/monitoring/strategy"
)

// BenchmarkFlush writes 1,000 dirty cached states of a shard (the bench
// load's series: two tags, a window of 4 points) to serve's state store
// with one flush, as flushLoop does every FlushInterval: one op is one
// flush; ns/state is reported.
func BenchmarkFlush(b *testing.B) {
	j, _ := newLogstoreJudge(b, 1)
	j.strat.set("cpu", mustCompile(b, strategy.Strategy{ID: "cpu", Team: "shop", Metric: "cpu.busy", Func: "all(#3)", Operator: ">", RightValue: 90, MaxStep: 3}))
	const series = 1000
	t0 := time.Now().Unix()/60*60 - 3600*24
	ctx := context.Background()
	for i := range 5 {
		if err := j.handle(ctx, 0, seriesBatch(series, t0+int64(i)*60)); err != nil {
			b.Fatal(err)
		}
	}
	c := j.caches[0]
	recs := make([]*cachedRecord, 0, len(c.entries))
	for _, e := range c.entries {
		recs = append(recs, e)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c.mu.Lock()
		for _, e := range recs {
			e.dirty = true
			c.dirtyRecs = append(c.dirtyRecs, e)
		}
		c.dirty += len(recs)
		if err := j.flushLocked(ctx, c); err != nil {
			b.Fatal(err)
		}
		c.mu.Unlock()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/state")
}
