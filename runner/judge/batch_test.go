package judge

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync/atomic"
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

// racingStore is a real buntdb store on which another writer rewrites
// the record at race (same value, new version) just before the first
// batched compare-and-swap, as a sweep or a second judge could.
type racingStore struct {
	*buntstore.Store
	race      string
	raced     atomic.Bool
	conflicts atomic.Int64
	batches   atomic.Int64
}

func (r *racingStore) CompareAndSwapMany(ctx context.Context, swaps []store.Swap) ([]store.SwapResult, error) {
	r.batches.Add(1)
	if r.race != "" && !r.raced.Swap(true) {
		e, err := r.Get(ctx, r.race)
		if err != nil {
			return nil, err
		}
		if _, err := r.Put(ctx, r.race, e.Value, store.PutOptions{}); err != nil {
			return nil, err
		}
	}
	res, err := r.Store.CompareAndSwapMany(ctx, swaps)
	for _, x := range res {
		if errors.Is(x.Err, store.ErrConflict) {
			r.conflicts.Add(1)
		}
	}
	return res, err
}

// TestBatchedStateWrites: a batch's records are written with one batched
// compare-and-swap; a record changed by another writer in between
// conflicts alone and is judged again on its own (its point not lost);
// a batch that brings nothing new (redelivered) writes nothing.
func TestBatchedStateWrites(t *testing.T) {
	nsqd := testenv.StartNSQD(t)
	bs, err := buntstore.Open(buntstore.Options{Path: filepath.Join(t.TempDir(), "store.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bs.Close() })
	st := &racingStore{Store: bs}
	p, err := bus.NewProducer(bus.ProducerOptions{Addrs: []string{nsqd.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	j, err := New(Options{Store: st, Publisher: p, NSQDAddrs: []string{nsqd.Addr}, Shards: 1})
	if err != nil {
		t.Fatal(err)
	}
	src, _ := json.Marshal(strategy.Strategy{ID: "cpu", Team: "shop", Metric: "cpu.busy", Func: "all(#3)", Operator: ">", RightValue: 90, MaxStep: 3})
	c, err := compileSource(src)
	if err != nil {
		t.Fatal(err)
	}
	j.strat.all = map[string]*judged{"cpu": c}
	ctx := context.Background()
	t0 := time.Now().Unix()/60*60 - 3600
	hosts := []string{"web-1", "web-2", "web-3"}
	batch := func(ts int64) []byte {
		var pts []metric.Point
		for _, h := range hosts {
			pts = append(pts, metric.Point{Endpoint: h, Metric: "cpu.busy", CounterType: "GAUGE", Step: 60, Time: ts, Value: 10})
		}
		return metric.AppendBatch(nil, pts)
	}
	id := func(h string) string { return event.ID(c.Prefix, "cpu", event.PK(h, "cpu.busy", nil)) }
	newest := func(h string) int64 {
		s, err := ReadState(ctx, st, id(h))
		if err != nil {
			t.Fatal(err)
		}
		return s.Points[len(s.Points)-1].T
	}
	if err := j.handle(ctx, 0, batch(t0)); err != nil {
		t.Fatal(err)
	}
	if st.batches.Load() != 1 {
		t.Fatalf("%d batched writes for one batch, want 1", st.batches.Load())
	}
	st.race = StatePrefix + id("web-2")
	if err := j.handle(ctx, 0, batch(t0+60)); err != nil {
		t.Fatal(err)
	}
	if st.conflicts.Load() != 1 {
		t.Fatalf("%d conflicts, want 1 (the raced record)", st.conflicts.Load())
	}
	for _, h := range hosts {
		if got := newest(h); got != t0+60 {
			t.Fatalf("%s: newest point %d, want %d", h, got, t0+60)
		}
	}
	before, err := st.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := st.batches.Load()
	if err := j.handle(ctx, 0, batch(t0+60)); err != nil { // redelivered
		t.Fatal(err)
	}
	after, err := st.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after != before || st.batches.Load() != n {
		t.Fatalf("a redelivered batch wrote: revision %d -> %d, batched writes %d -> %d", before, after, n, st.batches.Load())
	}
	// No problem open: the records carry no strategy source (nothing to
	// close if the strategy goes), only its fingerprint.
	for _, h := range hosts {
		e, err := st.Get(ctx, StatePrefix+id(h))
		if err != nil {
			t.Fatal(err)
		}
		rec, err := decodeRecord(e.Value)
		if err != nil || len(rec.Source) != 0 || rec.FP != c.fp {
			t.Fatalf("%s: record source %q, fingerprint %x (%v); want no source and %x", h, rec.Source, rec.FP, err, c.fp)
		}
	}
}
