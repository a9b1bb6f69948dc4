package judge

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/event"
	mjudge "github.com/wharfhq/wharf/monitoring/judge"
	"github.com/wharfhq/wharf/monitoring/metric"
	"github.com/wharfhq/wharf/monitoring/strategy"
)

type mjudgeState = mjudge.State
type eventEvent = event.Event
type storeEntry = store.Entry

func eventIDOf(j *Judge, id string, i int) string {
	return event.ID(j.strat.get(id).Prefix, id, metric.PK("host-"+strconv.Itoa(i), "cpu.busy", "env=bench,k="+strconv.Itoa(i%10)))
}

// MaxCachedStates bounds the states a shard keeps in memory. A record
// dropped from the cache through shardCache.remove (an event or strategy
// change going through update/flushKey, a lost compare-and-swap, a store
// failure) lets go of its state, though the series index's seriesMatch.rec
// still points at it: it used to keep its window, source and store ref, so
// with K strategies per series the index held K states per remembered
// series beyond MaxCachedStates (12 states with a bound of 4 here).
func TestDroppedRecordsHoldNoState(t *testing.T) {
	j, _ := newLogstoreJudge(t, 1)
	const series, strategies, maxCached = 4, 3, 4
	j.opts.MaxCachedStates = maxCached
	for k := range strategies {
		id := "s" + strconv.Itoa(k)
		j.strat.set(id, mustCompile(t, strategy.Strategy{ID: id, Team: "shop", Metric: "cpu.busy", Func: "all(#1)", Operator: ">", RightValue: 90, MaxStep: 1}))
	}
	ctx := context.Background()
	ts := time.Now().Unix()/60*60 - 3600
	handle := func(v float64) {
		t.Helper()
		pts := make([]metric.Point, series)
		for i := range pts {
			pts[i] = metric.Point{Endpoint: "host-" + strconv.Itoa(i), Metric: "cpu.busy", Tags: "k=" + strconv.Itoa(i),
				CounterType: "GAUGE", Step: 60, Time: ts, Value: v}
		}
		if err := j.handle(ctx, 0, metric.AppendBatch(nil, pts)); err != nil {
			t.Fatal(err)
		}
		ts += 60
	}
	for range 5 {
		handle(10) // quiet: cached, flushed, trimmed to maxCached
	}
	handle(95) // every state fires: each goes through update and is dropped from the cache
	c := j.caches[0]
	c.mu.Lock()
	cached := len(c.entries)
	c.mu.Unlock()
	held := 0
	for _, sl := range j.series[0].byPK.slots {
		if sl.s == nil {
			continue
		}
		for _, m := range sl.s.matches {
			if m.rec != nil && m.rec.cache == nil && len(m.rec.rec.State.Points) > 0 {
				held++
			}
		}
	}
	t.Logf("cache entries %d, dropped records with their state still reachable from the series index %d, MaxCachedStates %d", cached, held, maxCached)
	if cached+held > maxCached {
		t.Fatalf("%d states held in memory (%d cached + %d dropped but kept by the series index), MaxCachedStates is %d", cached+held, cached, held, maxCached)
	}
}

// batches of one shard while other goroutines flush
// the caches (ticks, sweeps), update the same keys (flushKey: the record
// dropped under the batch's feet) and the cache trims beyond a small
// MaxCachedStates: no point is lost, every stored record is the plain
// encoding of its state (tags), and -race finds nothing.
func TestConcurrentBatchesUpdatesFlushes(t *testing.T) {
	for _, maxCached := range []int{5, 1000} {
		t.Run(strconv.Itoa(maxCached), func(t *testing.T) { concurrentBatchesUpdatesFlushes(t, maxCached) })
	}
}

func concurrentBatchesUpdatesFlushes(t *testing.T, maxCached int) {
	j, st := newLogstoreJudge(t, 1)
	quiet := strategy.Strategy{ID: "quiet", Team: "shop", Metric: "cpu.busy", Func: "all(#3)", Operator: ">", RightValue: 1e18, MaxStep: 3}
	j.strat.set("quiet", mustCompile(t, quiet))
	quiet.ID = "quiet2"
	j.strat.set("quiet2", mustCompile(t, quiet))
	j.opts.MaxCachedStates = maxCached
	const series = 8
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t0 := time.Now().Unix()/60*60 - 7200
	keys := []string{}
	for _, id := range []string{"quiet", "quiet2"} {
		for i := range series {
			keys = append(keys, StatePrefix+eventIDOf(j, id, i))
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			j.flushAll(ctx)
			runtime.Gosched() // let the batches run between flushes
		}
	}()
	done2 := make(chan struct{})
	go func() {
		defer close(done2)
		for n := 0; ctx.Err() == nil; n++ {
			runtime.Gosched()
			_ = j.update(ctx, keys[n%len(keys)], 0, func(s mjudgeState, _ *judged) (mjudgeState, []eventEvent, bool) {
				return s, nil, len(s.Points) > 0
			})
		}
	}()
	const batches = 400
	for b := range batches {
		if err := j.handle(context.Background(), 0, seriesBatch(series, t0+int64(b)*60)); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	<-done
	<-done2
	j.flushAll(context.Background())
	t.Logf("cache lookups %d (batches %d x %d items: records dropped under the batches and looked up again)", j.caches[0].lookups, batches, 2*series)
	last := t0 + (batches-1)*60
	for _, id := range []string{"quiet", "quiet2"} {
		for i := range series {
			rec := stateOf(t, j, st, id, i)
			p := rec.State.Points
			if n := len(p); n < 3 || p[n-3].T != last-120 || p[n-2].T != last-60 || p[n-1].T != last {
				t.Fatalf("host-%d under %s: window %+v, want the last three points up to %d", i, id, p, last)
			}
		}
	}
}

// the cached path (series index pointers, shared
// window, encoded tags, log store refs, trims) stores exactly what the
// write-through path stores, over random batches with duplicates, points
// out of order, events and evictions.
func TestCachedPathMatchesWriteThrough(t *testing.T) {
	now := time.Now()
	mk := func(writeThrough bool) (*Judge, interface {
		Get(context.Context, string) (storeEntry, error)
	}) {
		j, st := newLogstoreJudge(t, 1)
		j.opts.Now = func() time.Time { return now }
		j.opts.MaxCachedStates = 3
		if writeThrough {
			j.opts.FlushInterval = -1
		}
		hot := strategy.Strategy{ID: "hot", Team: "shop", Metric: "cpu.busy", Func: "avg(#2)", Operator: ">", RightValue: 70, MaxStep: 3}
		quiet := strategy.Strategy{ID: "quiet", Team: "shop", Metric: "cpu.busy", Func: "all(#3)", Operator: ">", RightValue: 1e18, MaxStep: 3}
		j.strat.set("hot", mustCompile(t, hot))
		j.strat.set("quiet", mustCompile(t, quiet))
		return j, st
	}
	a, sa := mk(false)
	b, sb := mk(true)
	rnd := uint64(12345)
	next := func(n int) int {
		rnd = rnd*6364136223846793005 + 1442695040888963407
		return int((rnd >> 33) % uint64(n))
	}
	const series = 7
	t0 := now.Unix()/60*60 - 100000
	ctx := context.Background()
	for batch := range 300 {
		var pts []metric.Point
		for i := range series {
			if next(3) == 0 {
				continue
			}
			ts := t0 + int64(batch)*60 - int64(next(4))*60 // some duplicates and out of order
			pts = append(pts, metric.Point{Endpoint: "host-" + strconv.Itoa(i), Metric: "cpu.busy", Tags: "env=bench,k=" + strconv.Itoa(i%10),
				CounterType: "GAUGE", Step: 60, Time: ts, Value: float64(next(100))})
		}
		if len(pts) == 0 {
			continue
		}
		body := metric.AppendBatch(nil, pts)
		if err := a.handle(ctx, 0, body); err != nil {
			t.Fatal(err)
		}
		if err := b.handle(ctx, 0, body); err != nil {
			t.Fatal(err)
		}
	}
	a.flushAll(ctx)
	for _, id := range []string{"hot", "quiet"} {
		for i := range series {
			key := StatePrefix + eventIDOf(a, id, i)
			ea, erra := sa.Get(ctx, key)
			eb, errb := sb.Get(ctx, key)
			if (erra == nil) != (errb == nil) || string(ea.Value) != string(eb.Value) {
				ra, _ := decodeRecord(ea.Value)
				rb, _ := decodeRecord(eb.Value)
				t.Fatalf("host-%d under %s:\ncached        %+v (%v)\nwrite-through %+v (%v)", i, id, ra.State, erra, rb.State, errb)
			}
		}
	}
	t.Logf("events: cached %d, write-through %d", a.Events(), b.Events())
	if a.Events() != b.Events() || a.Events() == 0 {
		t.Fatalf("events: cached %d, write-through %d", a.Events(), b.Events())
	}
}

// A shard given up drops its cache's records at once: none stays marked
// cached (or holds its state) in the forgotten cache.
func TestShardGivenUpMarksRecordsDropped(t *testing.T) {
	j, _ := newLogstoreJudge(t, 1)
	j.strat.set("quiet", mustCompile(t, strategy.Strategy{ID: "quiet", Team: "shop", Metric: "cpu.busy", Func: "all(#3)", Operator: ">", RightValue: 1e18, MaxStep: 3}))
	if err := j.handle(context.Background(), 0, seriesBatch(3, time.Now().Unix()/60*60-600)); err != nil {
		t.Fatal(err)
	}
	c := j.caches[0]
	j.dropCache(0)
	marked := 0
	for _, e := range c.entries {
		if e.cache == c {
			marked++
		}
	}
	if marked > 0 {
		t.Fatalf("after the shard was given up, %d of its records are still marked cached", marked)
	}
}
