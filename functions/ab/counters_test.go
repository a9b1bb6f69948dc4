package ab

import (
	"bytes"
	"context"
	"encoding/json"
	"hash/maphash"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	f.Flush(ctx) // flushes bucket version 0's exposure
	if len(f.counters) != 2 {
		t.Fatalf("counters after one flush: %v, want both (a decision may still hold the old snapshot)", f.counters)
	}
	f.Flush(ctx)
	f.Flush(ctx) // idle and unused for two flushes: dropped
	if _, ok := f.counters[counterID(e)]; !ok || len(f.counters) != 1 {
		t.Fatalf("counters after the flush: %v, want only bucket version 1's", f.counters)
	}
	f.apply(map[string][]byte{})
	f.Flush(ctx)
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
	l := newUnitLog(experiment.Experiment{Key: "k", Team: "t"}, logLimits{slots: 1 << 16, maxNew: 2, maxReported: 0})
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
	slots := map[uint64]int{} // units sharing a slot (the set is lossy) are not checked
	for _, u := range append(slices.Clone(b.Units), "new") {
		slots[unitHash(seed, u, 0)&l.mask]++
	}
	for i := range 15 {
		u := "u" + strconv.Itoa(i)
		if slots[unitHash(seed, u, 0)&l.mask] > 1 {
			continue
		}
		if kept := i < 9; l.has(unitHash(seed, u, 0)) != kept {
			t.Errorf("%s in the set: %v, want %v", u, !kept, kept)
		}
	}
}

// TestLateDecisionIsFlushed: a decision that loaded the snapshot before a
// reassignment and counts after the next flush is still flushed: the old
// counter is dropped only after two idle flushes.
func TestLateDecisionIsFlushed(t *testing.T) {
	nsqd := testenv.StartNSQD(t)
	prod, err := bus.NewProducer(bus.ProducerOptions{Addrs: []string{nsqd.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prod.Close() })
	st := fntest.OpenStore(t, redisstore.Options{})
	f, err := New(Options{Store: st, Publisher: prod})
	if err != nil {
		t.Fatal(err)
	}
	e := experiment.Experiment{Key: "button", Team: "shop", Status: experiment.Running, Coverage: 1,
		Variations: []experiment.Variation{{Weight: 0.5}, {Weight: 0.5}}, Audit: experiment.Audit{CreatedAt: time.Unix(1, 0)}}
	e.Normalize()
	b, _ := json.Marshal(e)
	f.apply(map[string][]byte{experimentKey("shop", "button"): b})
	old := f.snapshot()
	e1 := e
	e1.BucketVersion = 1
	b, _ = json.Marshal(e1)
	f.apply(map[string][]byte{experimentKey("shop", "button"): b})
	ctx := context.Background()
	f.Flush(ctx)
	f.countExposure(old, old.snap.All[0], old.snap.All[0].Decide(map[string]any{"id": "late"}))
	f.Flush(ctx)
	en, err := st.Get(ctx, ExposureKey(e))
	if err != nil {
		t.Fatalf("the late decision's exposure was not flushed: %v", err)
	}
	var got storedExposures
	if err := json.Unmarshal(en.Value, &got); err != nil || got.Counts[0]+got.Counts[1] != 1 {
		t.Fatalf("stored exposures %s (%v), want the late decision", en.Value, err)
	}
}

// TestTruncateAtRune: a truncated echo of input never cuts a rune.
func TestTruncateAtRune(t *testing.T) {
	t.Parallel()
	if got := truncate("ab€", 3); got != "ab…" {
		t.Fatalf("truncate: %q", got)
	}
	if got := truncate("abc", 3); got != "abc" {
		t.Fatalf("truncate: %q", got)
	}
}

// TestFlushWarningsRateLimited: a store outage fails every flush of every
// experiment; the warning is logged once a minute with the count of those
// left out.
func TestFlushWarningsRateLimited(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	now := time.Unix(100, 0)
	f := &Function{opts: Options{Now: func() time.Time { return now }}, log: slog.New(slog.NewTextHandler(&buf, nil))}
	for range 5 {
		f.flushWarn("cannot flush exposures", "experiment", "shop/button")
		now = now.Add(time.Second)
	}
	now = now.Add(time.Minute)
	f.flushWarn("cannot flush exposures", "experiment", "shop/button")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "suppressed=0") || !strings.Contains(lines[1], "suppressed=4") {
		t.Fatalf("warnings:\n%s", buf.String())
	}
}

// syncBuffer is a bytes.Buffer safe for a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
