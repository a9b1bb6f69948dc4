package ab

import (
	"context"
	"encoding/json"
	"hash/maphash"
	"strconv"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/ab/experiment"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/fntest"
	"github.com/wharfhq/wharf/internal/store/redisstore"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestIdleCountersAreDropped: the counter of an experiment (with its set
// of exposed units, 512 KiB) is dropped once the snapshot no longer runs
// it and its exposures are flushed; a node does not keep one per bucket
// version it ever decided.
func TestIdleCountersAreDropped(t *testing.T) {
	nsqd := testenv.StartNSQD(t)
	prod, err := bus.NewProducer(bus.ProducerOptions{Addrs: []string{nsqd.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prod.Close() })
	f, err := New(Options{Store: fntest.OpenStore(t, redisstore.Options{}), Publisher: prod})
	if err != nil {
		t.Fatal(err)
	}
	e := experiment.Experiment{Key: "button", Team: "shop", Status: experiment.Running, Coverage: 1,
		Variations: []experiment.Variation{{Weight: 0.5}, {Weight: 0.5}}, Audit: experiment.Audit{CreatedAt: time.Unix(1, 0)}}
	e.Normalize()
	defs := func(bv int) map[string][]byte {
		e.BucketVersion = bv
		b, _ := json.Marshal(e)
		return map[string][]byte{experimentKey("shop", "button"): b}
	}
	f.apply(defs(0))
	st := f.snapshot()
	f.countExposure(st, st.snap.All[0], st.snap.All[0].Decide(map[string]any{"id": "u1"}))
	f.apply(defs(1)) // a reassignment: a new counter
	if n := len(f.counters); n != 2 {
		t.Fatalf("%d counters, want 2", n)
	}
	ctx := context.Background()
	f.Flush(ctx) // flushes bucket version 0's exposure, then drops its counter
	if _, ok := f.counters[counterID(e)]; !ok || len(f.counters) != 1 {
		t.Fatalf("counters after the flush: %v, want only bucket version 1's", f.counters)
	}
	f.apply(map[string][]byte{})
	f.Flush(ctx)
	if len(f.counters) != 0 {
		t.Fatalf("counters of a deleted experiment: %v", f.counters)
	}
}

// TestBatchLen: a stored batch of exposed units is capped by units and by
// the bytes of their ids (one unit at least).
func TestBatchLen(t *testing.T) {
	t.Parallel()
	units := []string{"aaaa", "bbbb", "cccc", "dddd"}
	for _, c := range []struct{ max, bytes, want int }{{10, 100, 4}, {2, 100, 2}, {10, 8, 2}, {10, 9, 2}, {10, 2, 1}} {
		if got := batchLen(units, c.max, c.bytes); got != c.want {
			t.Errorf("batchLen(max %d, bytes %d) = %d, want %d", c.max, c.bytes, got, c.want)
		}
	}
}

// TestRequeueForgetsDropped: units a log cannot keep after a failed
// write are dropped and forgotten by its set, so a later decision
// records them again; the units kept stay in the set.
func TestRequeueForgetsDropped(t *testing.T) {
	t.Parallel()
	seed := maphash.MakeSeed()
	l := newUnitLog(experiment.Experiment{Key: "k", Team: "t"}, logLimits{slots: 1 << 10, maxNew: 2, maxReported: 0})
	var b exposedBatch
	for i := range 15 {
		u := "u" + strconv.Itoa(i)
		if !l.add(unitHash(seed, u, 0), u, 0, 1) {
			t.Fatalf("add %s: pending full at %d", u, i)
		}
		b.add(u, 0, 1)
	}
	l.pending = exposedBatch{}
	l.add(unitHash(seed, "new", 0), "new", 0, 2) // added while the write failed
	l.pendingMax = 10
	if got := l.requeue(seed, b); got != 6 {
		t.Fatalf("dropped %d, want 6 (pending holds 10)", got)
	}
	for i := range 15 {
		u := "u" + strconv.Itoa(i)
		if kept := i < 9; l.has(unitHash(seed, u, 0)) != kept {
			t.Errorf("%s in the set: %v, want %v", u, !kept, kept)
		}
	}
}
