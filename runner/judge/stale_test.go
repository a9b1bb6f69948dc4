package judge

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/event"
	mjudge "github.com/wharfhq/wharf/monitoring/judge"
	"github.com/wharfhq/wharf/monitoring/metric"
	"github.com/wharfhq/wharf/monitoring/strategy"
)

// A batch whose series were matched while a strategy was in force, and
// whose records are judged only after the strategy was deleted and the
// delete's sweep closed its states (the shard's consumer is slow, the
// watch is not), judges nothing under the deleted strategy: it used to
// write a fresh state of it, which no sweep looks at again, and publish
// a PROBLEM of a deleted strategy that nothing ever closes. Both paths:
// the batch's point decides an event (update) or not (the cached path).
func TestBatchAfterDeleteJudgesNothing(t *testing.T) {
	for _, tc := range []struct {
		fn string
		v  float64
	}{{"all(#1)", 95}, {"all(#2)", 50}} {
		v := tc.v
		j, st := newLogstoreJudge(t, 1)
		ctx := context.Background()
		cpu := strategy.Strategy{ID: "cpu", Team: "shop", Metric: "cpu.busy", Func: tc.fn, Operator: ">", RightValue: 90, MaxStep: 3}
		j.strat.set("cpu", mustCompile(t, cpu))
		c := j.strat.get("cpu")
		key := StatePrefix + event.ID(c.Prefix, "cpu", metric.PK("host-3", "cpu.busy", "k=3"))
		t0 := time.Now().Unix()/60*60 - 3600
		batch := func(ts int64, v float64) []byte {
			return metric.AppendBatch(nil, []metric.Point{{Endpoint: "host-3", Metric: "cpu.busy", Tags: "k=3", CounterType: "GAUGE", Step: 60, Time: ts, Value: v}})
		}
		if err := j.handle(ctx, 0, batch(t0, 95)); err != nil {
			t.Fatal(err)
		}
		// The next batch's items, matched while cpu is in force (as
		// handleMessage makes them).
		idx := j.series[0]
		idx.mu.Lock()
		pts, err := idx.decode(batch(t0+60, v))
		if err != nil {
			t.Fatal(err)
		}
		strats, gen := j.strat.current()
		var items []judgeItem
		for _, s := range idx.group(pts, j.opts.MaxCachedStates) {
			for _, mt := range s.match(strats, gen) {
				items = append(items, judgeItem{key: mt.key, lock: mt.lock, c: mt.c, series: idx.points(s)})
			}
		}
		// Deleted meanwhile, and its sweep done (what sweep does for a
		// record of a deleted strategy).
		j.strat.set("cpu", nil)
		if err := j.update(ctx, key, 0, func(st mjudge.State, _ *judged) (mjudge.State, []event.Event, bool) { return st, nil, true }); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Get(ctx, key); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the sweep left the state: %v", err)
		}
		before := j.Events() // all(#1): the PROBLEM at t0 and the sweep's OK
		err = j.judgeBatch(ctx, 0, items, gen, nil, len(pts))
		idx.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		if rec, err := st.Get(ctx, key); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("value %v: a state of the deleted strategy was written after its sweep: %q (%v)", v, rec.Value, err)
		}
		if n := j.Events() - before; n != 0 {
			t.Fatalf("value %v: %d events published under the deleted strategy", v, n)
		}
	}
}
