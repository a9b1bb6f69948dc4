package judge

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/buntstore"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/monitoring/metric"
	"github.com/wharfhq/wharf/monitoring/strategy"
)

// The cached path keeps short windows in the cached record's own storage
// and longer ones in arrays of their own: whatever the window (1 to 8
// points here, across the record's 5), with duplicates, points out of
// order, several points of a series in one batch and events sending
// records through update, every state it stores is the one the
// write-through path (no cache, no kept windows) stores from the same
// batches.
func TestCachedWindowsJudgeAsWriteThrough(t *testing.T) {
	cached, cachedStore := newLogstoreJudge(t, 1)
	nsqd := testenv.StartNSQD(t)
	p, err := bus.NewProducer(bus.ProducerOptions{Addrs: []string{nsqd.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	refStore, err := buntstore.Open(buntstore.Options{Path: filepath.Join(t.TempDir(), "store.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = refStore.Close() })
	ref, err := New(Options{Store: refStore, Publisher: p, NSQDAddrs: []string{nsqd.Addr}, Shards: 1, FlushInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	ref.strat.all = map[string]*judged{}
	funcs := map[string]string{"w1": "all(#1)", "w3": "max(#3)", "w5": "avg(#5)", "w6": "sum(#6)", "w8": "min(#8)"}
	rights := map[string]float64{"w1": 95, "w3": 90, "w5": 60, "w6": 330, "w8": 20}
	for id, fn := range funcs {
		s := strategy.Strategy{ID: id, Team: "shop", Metric: "cpu.busy", Func: fn, Operator: ">", RightValue: rights[id], MaxStep: 2}
		cached.strat.set(id, mustCompile(t, s))
		ref.strat.set(id, mustCompile(t, s))
	}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 13))
	const series = 12
	t0 := time.Now().Unix()/60*60 - 3600*24
	newest := make([]int64, series)
	evented := map[string]bool{} // strategies with a state that sent an event
	for b := range 60 {
		var pts []metric.Point
		for i := range series {
			for range rng.IntN(3) { // 0-2 points of the series in this batch
				ts := newest[i] + 60
				switch rng.IntN(8) {
				case 0:
					ts = newest[i] // a duplicate
				case 1:
					ts = newest[i] - 120 // out of order
				}
				newest[i] = max(newest[i], ts)
				pts = append(pts, metric.Point{Endpoint: "host-" + strconv.Itoa(i), Metric: "cpu.busy", Tags: "env=bench,k=" + strconv.Itoa(i%3),
					CounterType: "GAUGE", Step: 60, Time: t0 + ts, Value: float64(rng.IntN(101))})
			}
		}
		rng.Shuffle(len(pts), func(a, c int) { pts[a], pts[c] = pts[c], pts[a] })
		if len(pts) == 0 {
			continue
		}
		body := metric.AppendBatch(nil, pts)
		if err := cached.handle(ctx, 0, body); err != nil {
			t.Fatal(err)
		}
		if err := ref.handle(ctx, 0, body); err != nil {
			t.Fatal(err)
		}
		for id := range funcs {
			for i := range series {
				eid := event.ID(cached.strat.get(id).Prefix, id, metric.PK("host-"+strconv.Itoa(i), "cpu.busy", "env=bench,k="+strconv.Itoa(i%3)))
				got, gerr := readRecord(ctx, cachedStore, eid)
				want, werr := readRecord(ctx, refStore, eid)
				if (gerr == nil) != (werr == nil) || !reflect.DeepEqual(got, want) {
					t.Fatalf("batch %d, host-%d under %s (%s):\ncached %+v (%v)\nwrite-through %+v (%v)", b, i, id, funcs[id], got, gerr, want, werr)
				}
				if got.State.Last.Status != "" {
					evented[id] = true
				}
			}
		}
	}
	if len(evented) != len(funcs) {
		t.Fatalf("events sent under %v only, want every strategy's (the update path taken)", evented)
	}
}

// readRecord is the stored record of a state, its window's capacity
// aside (a decoded window has none to spare).
func readRecord(ctx context.Context, st store.Store, eventID string) (record, error) {
	e, err := st.Get(ctx, StatePrefix+eventID)
	if err != nil {
		return record{}, err
	}
	return decodeRecord(e.Value)
}
