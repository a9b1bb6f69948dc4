package judge

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/buntstore"
	"github.com/wharfhq/wharf/internal/store/logstore"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/monitoring/metric"
	"github.com/wharfhq/wharf/monitoring/strategy"
)

// newLogstoreJudge is a judge of shards over serve's stores (buntdb, the
// states in a log store, which it returns) with a real nsqd, its shards cached (write-behind) as serve's
// are, and no strategy yet.
func newLogstoreJudge(t testing.TB, shards int) (*Judge, store.Store) {
	t.Helper()
	nsqd := testenv.StartNSQD(t)
	st, err := logstore.Open(logstore.Options{Path: filepath.Join(t.TempDir(), "states.log")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	p, err := bus.NewProducer(bus.ProducerOptions{Addrs: []string{nsqd.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	shared, err := buntstore.Open(buntstore.Options{Path: filepath.Join(t.TempDir(), "store.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = shared.Close() })
	j, err := New(Options{Store: shared, StateStore: st, Publisher: p, NSQDAddrs: []string{nsqd.Addr}, Shards: shards})
	if err != nil {
		t.Fatal(err)
	}
	for sh := range shards {
		j.caches[sh] = newShardCache()
	}
	j.strat.all = map[string]*judged{} // as loaded from a store without strategies
	return j, st
}

func mustCompile(t testing.TB, s strategy.Strategy) *judged {
	t.Helper()
	src, _ := json.Marshal(s)
	c, err := compileSource(src)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// seriesBatch is a batch of one point of each of n series (endpoint
// host-<i>, tags env=bench,k=<i%10>) at time ts.
func seriesBatch(n int, ts int64) []byte {
	pts := make([]metric.Point, n)
	for i := range pts {
		pts[i] = metric.Point{Endpoint: "host-" + strconv.Itoa(i), Metric: "cpu.busy", Tags: "env=bench,k=" + strconv.Itoa(i%10),
			CounterType: "GAUGE", Step: 60, Time: ts, Value: float64(i % 80)}
	}
	return metric.AppendBatch(nil, pts)
}

// The cached path (serve's) judges a batch of 1,000 points of known
// series against a matching strategy and writes their states with a
// constant number of allocations, not a few per point as it did (8 per
// point before the series index, the interned decode and the log
// store's in-place writes): the bound holds the gain.
func TestCachedBatchAllocationsPerPoint(t *testing.T) {
	j, _ := newLogstoreJudge(t, 1)
	j.strat.set("cpu", mustCompile(t, strategy.Strategy{ID: "cpu", Team: "shop", Metric: "cpu.busy", Func: "all(#3)", Operator: ">", RightValue: 90, MaxStep: 3}))
	const series = 1000
	t0 := time.Now().Unix()/60*60 - 3600*24
	var bodies [][]byte
	for i := range 40 {
		bodies = append(bodies, seriesBatch(series, t0+int64(i)*60))
	}
	ctx := context.Background()
	next := 0
	handle := func() {
		if err := j.handle(ctx, 0, bodies[next]); err != nil {
			t.Fatal(err)
		}
		next++
	}
	for range 5 { // the states exist and their windows are full
		handle()
	}
	perBatch := testing.AllocsPerRun(20, handle)
	// 14 without the race detector; the bound leaves room for it.
	if perPoint := perBatch / series; perPoint > 0.05 {
		t.Fatalf("%.0f allocations per batch of %d points (%.3f per point), want at most 0.05 per point", perBatch, series, perPoint)
	}
	st, err := ReadState(ctx, j.opts.StateStore, event.ID(j.strat.get("cpu").Prefix, "cpu", metric.PK("host-7", "cpu.busy", "env=bench,k=7")))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(st.Points); n < 3 || st.Points[n-1].T != t0+int64(next-1)*60 || st.Tags["k"] != "7" {
		t.Fatalf("state of host-7 after %d batches: %+v", next, st)
	}
}

// The series index keeps the strategies matching a series between
// batches: a strategy created after a series was first seen judges its
// next point, an edit that no longer matches it stops judging it, and a
// series' points are grouped and judged oldest first whatever their order
// in the batch.
func TestSeriesIndexFollowsStrategyChanges(t *testing.T) {
	j, st := newLogstoreJudge(t, 1)
	ctx := context.Background()
	t0 := time.Now().Unix()/60*60 - 3600
	if err := j.handle(ctx, 0, seriesBatch(20, t0)); err != nil {
		t.Fatal(err)
	}
	cpu := strategy.Strategy{ID: "cpu", Team: "shop", Metric: "cpu.busy", Tags: map[string]string{"k": "3"}, Func: "all(#2)", Operator: ">", RightValue: 90, MaxStep: 3}
	j.strat.set("cpu", mustCompile(t, cpu))
	c := j.strat.get("cpu")
	key := StatePrefix + event.ID(c.Prefix, "cpu", metric.PK("host-13", "cpu.busy", "env=bench,k=3"))
	// Two points of host-13, newest first, between the others.
	pts := []metric.Point{
		{Endpoint: "host-13", Metric: "cpu.busy", Tags: "env=bench,k=3", CounterType: "GAUGE", Step: 60, Time: t0 + 120, Value: 95},
		{Endpoint: "host-2", Metric: "cpu.busy", Tags: "env=bench,k=2", CounterType: "GAUGE", Step: 60, Time: t0 + 60, Value: 1},
		{Endpoint: "host-13", Metric: "cpu.busy", Tags: "env=bench,k=3", CounterType: "GAUGE", Step: 60, Time: t0 + 60, Value: 91},
	}
	if err := j.handle(ctx, 0, metric.AppendBatch(nil, pts)); err != nil {
		t.Fatal(err)
	}
	e, err := st.Get(ctx, key)
	if err != nil {
		t.Fatalf("host-13 not judged under the new strategy: %v", err)
	}
	rec, err := decodeRecord(e.Value)
	if err != nil {
		t.Fatal(err)
	}
	if p := rec.State.Points; len(p) != 2 || p[0].T != t0+60 || p[1].T != t0+120 || rec.State.Last.Status != event.Problem {
		t.Fatalf("host-13's state: %+v (want both points, oldest first, and the PROBLEM)", rec.State)
	}
	if _, err := st.Get(ctx, StatePrefix+event.ID(c.Prefix, "cpu", metric.PK("host-2", "cpu.busy", "env=bench,k=2"))); err == nil {
		t.Fatal("host-2 (k=2) judged by a strategy for k=3")
	}
	// The strategy now wants k=4: host-13's next point is not judged.
	cpu.Tags = map[string]string{"k": "4"}
	j.strat.set("cpu", mustCompile(t, cpu))
	if err := j.handle(ctx, 0, metric.AppendBatch(nil, []metric.Point{{Endpoint: "host-13", Metric: "cpu.busy", Tags: "env=bench,k=3", CounterType: "GAUGE", Step: 60, Time: t0 + 180, Value: 1}})); err != nil {
		t.Fatal(err)
	}
	after, err := st.Get(ctx, key)
	if err != nil || after.Version != e.Version {
		t.Fatalf("host-13's state under the old strategy after the edit: version %d, was %d (%v)", after.Version, e.Version, err)
	}
}

// group gives every series its points oldest first (equal times in batch
// order), the series in the order they first appear, batch after batch
// with the same index, as grouping each batch afresh with a map does.
func TestSeriesIndexGroupsLikeAMap(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	idx := newSeriesIndex()
	for batch := range 200 {
		pts := make([]metric.Point, r.IntN(60))
		for i := range pts {
			s := r.IntN(12)
			pts[i] = metric.Point{Endpoint: "h" + strconv.Itoa(s%4), Metric: "m", Tags: []string{"", "a=1", "a=2"}[s/4],
				CounterType: "GAUGE", Step: 60, Time: int64(r.IntN(5)) * 60, Value: float64(i)}
		}
		// The reference: a map from PK to the points in batch order, then
		// a stable sort by time.
		var order []string
		want := map[string][]metric.Point{}
		for _, p := range pts {
			pk := p.PK()
			if _, ok := want[pk]; !ok {
				order = append(order, pk)
			}
			want[pk] = append(want[pk], p)
		}
		limit := 1 << 20
		if batch%50 == 49 {
			limit = 0 // the index starts afresh
		}
		groups := idx.group(pts, limit)
		if len(groups) != len(order) {
			t.Fatalf("batch %d: %d groups, want %d", batch, len(groups), len(order))
		}
		for g, s := range groups {
			w := want[order[g]]
			slices.SortStableFunc(w, func(a, b metric.Point) int { return int(min(max(a.Time-b.Time, -1), 1)) })
			got := idx.points(s)
			if s.pk != order[g] || len(got) != len(w) {
				t.Fatalf("batch %d group %d: %s with %d points, want %s with %d", batch, g, s.pk, len(got), order[g], len(w))
			}
			for i := range got {
				if got[i].Timestamp != w[i].Time || got[i].Value != w[i].Value || got[i].Endpoint != w[i].Endpoint ||
					event.PK(got[i].Endpoint, got[i].Metric, got[i].Tags) != s.pk {
					t.Fatalf("batch %d series %s point %d: %+v, want %+v", batch, s.pk, i, got[i], w[i])
				}
			}
		}
	}
}

// The index decodes a binary batch with its strings as views of the
// message; what it keeps of a new series is its own: a message overwritten
// after its batch was grouped (nsq reuses nothing, but a bug elsewhere
// could) changes no series' endpoint, metric, tags or PK.
func TestSeriesIndexKeepsNoViewOfTheMessage(t *testing.T) {
	t.Parallel()
	idx := newSeriesIndex()
	body := metric.AppendBatch(nil, []metric.Point{
		{Endpoint: "web-1", Metric: "cpu.busy", Tags: "core=0,env=prod", CounterType: metric.Gauge, Step: 60, Time: 60, Value: 1},
		{Endpoint: "web-2", Metric: "cpu.busy", Tags: "core=1,env=prod", CounterType: metric.Gauge, Step: 60, Time: 60, Value: 2},
	})
	pts, err := idx.decode(body)
	if err != nil {
		t.Fatal(err)
	}
	groups := idx.group(pts, 1000)
	for i := range body {
		body[i] = 'X'
	}
	want := [][3]string{{"web-1", "cpu.busy", "0"}, {"web-2", "cpu.busy", "1"}}
	for i, s := range groups {
		if s.endpoint != want[i][0] || s.metric != want[i][1] || s.tags["core"] != want[i][2] || s.tags["env"] != "prod" ||
			s.pk != want[i][0]+"/cpu.busy/core="+want[i][2]+",env=prod" {
			t.Fatalf("series %d after its message was overwritten: %+v", i, s)
		}
	}
}
