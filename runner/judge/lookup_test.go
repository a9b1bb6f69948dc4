package judge

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/monitoring/metric"
	"github.com/wharfhq/wharf/monitoring/strategy"
)

// stateOf reads the stored record of host-<i> of seriesBatch under strategy
// id, and checks that it is encoded as appendRecord encodes it.
func stateOf(t *testing.T, j *Judge, st store.Store, id string, i int) record {
	t.Helper()
	key := StatePrefix + event.ID(j.strat.get(id).Prefix, id, metric.PK("host-"+strconv.Itoa(i), "cpu.busy", "env=bench,k="+strconv.Itoa(i%10)))
	e, err := st.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("state of host-%d under %s: %v", i, id, err)
	}
	rec, err := decodeRecord(e.Value)
	if err != nil {
		t.Fatal(err)
	}
	// Written with the series' tags encoded apart (the flush): the bytes
	// of the plain encoding.
	if tags := rec.State.Tags; len(tags) != 2 || tags["env"] != "bench" || tags["k"] != strconv.Itoa(i%10) {
		t.Fatalf("host-%d under %s: stored tags %v", i, id, tags)
	}
	if again, err := appendRecord(nil, &rec); err != nil || string(again) != string(e.Value) {
		t.Fatalf("host-%d under %s: stored %q, encodes to %q (%v)", i, id, e.Value, again, err)
	}
	return rec
}

// A batch of known series finds their cached states through the series
// index (no lookup in the cache's map: one map lookup per point, the
// index's, where there were two); a state the cache evicted (trim) or
// dropped (an event went through update) is looked up again and read from
// the store, never used through the index's stale pointer: the states go
// on from what was stored.
func TestCachedStatesFoundThroughTheSeriesIndex(t *testing.T) {
	j, st := newLogstoreJudge(t, 1)
	quiet := strategy.Strategy{ID: "quiet", Team: "shop", Metric: "cpu.busy", Func: "all(#3)", Operator: ">", RightValue: 1e18, MaxStep: 3}
	hot := strategy.Strategy{ID: "hot", Team: "shop", Metric: "cpu.busy", Tags: map[string]string{"k": "7"}, Func: "all(#1)", Operator: ">", RightValue: 90, MaxStep: 1}
	j.strat.set("quiet", mustCompile(t, quiet))
	quiet.ID = "quiet2"
	j.strat.set("quiet2", mustCompile(t, quiet))
	j.strat.set("hot", mustCompile(t, hot))
	const series = 8 // 17 states: host-7 matches hot too
	ctx := context.Background()
	t0 := time.Now().Unix()/60*60 - 3600
	ts := t0
	handle := func(values map[int]float64) {
		t.Helper()
		pts := make([]metric.Point, series)
		for i := range pts {
			pts[i] = metric.Point{Endpoint: "host-" + strconv.Itoa(i), Metric: "cpu.busy", Tags: "env=bench,k=" + strconv.Itoa(i%10),
				CounterType: "GAUGE", Step: 60, Time: ts, Value: values[i]}
		}
		if err := j.handle(ctx, 0, metric.AppendBatch(nil, pts)); err != nil {
			t.Fatal(err)
		}
		ts += 60
	}
	c := j.caches[0]
	lookups := func(want int, when string) {
		t.Helper()
		if c.lookups != want {
			t.Fatalf("%s: %d lookups in the cache's map, want %d", when, c.lookups, want)
		}
	}
	handle(nil)
	lookups(17, "first batch (no state cached)")
	for range 3 {
		handle(nil)
	}
	lookups(17, "known series, states cached")

	// host-7's point fires "hot": its record goes through update and is
	// dropped from the cache; the next batch looks it up (a miss: read
	// from the store) and goes on from the stored PROBLEM.
	handle(map[int]float64{7: 95})
	lookups(17, "the batch that fired")
	handle(map[int]float64{7: 96}) // max_step 1: no second PROBLEM
	lookups(18, "after an event dropped host-7's record")
	if rec := stateOf(t, j, st, "hot", 7); rec.State.Last.Status != event.Problem || rec.State.Last.Step != 1 || rec.State.Points[len(rec.State.Points)-1].T != ts-60 {
		t.Fatalf("host-7 under hot: %+v, want the PROBLEM of step 1 and the newest point at %d", rec.State, ts-60)
	}
	handle(map[int]float64{7: 97})
	lookups(18, "host-7's record cached again")

	// The cache keeps 8 of its 17 states after a flush (and the index its
	// 8 series): the states evicted are looked up (and read) again, the
	// others are not.
	j.opts.MaxCachedStates = 8
	handle(nil) // host-7 recovers under hot (an OK: dropped), 8 of 16 evicted
	lookups(18, "the batch before the trim")
	handle(nil)
	lookups(18+8+1, "after the trim")
	handle(nil) // 9 of 17 evicted
	lookups(18+8+1+9, "after the next trim")
	last := ts - 60
	for _, id := range []string{"quiet", "quiet2"} {
		for i := range series {
			rec := stateOf(t, j, st, id, i)
			if p := rec.State.Points; len(p) < 3 || p[len(p)-3].T != last-120 || p[len(p)-1].T != last {
				t.Fatalf("host-%d under %s: window %+v, want the points of every batch up to %d", i, id, p, last)
			}
		}
	}
	if rec := stateOf(t, j, st, "hot", 7); rec.State.Last.Status != event.OK || rec.State.Points[len(rec.State.Points)-1].T != last {
		t.Fatalf("host-7 under hot: %+v, want the OK and the newest point at %d", rec.State, last)
	}
}
