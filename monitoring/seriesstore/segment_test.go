package seriesstore_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/wharfhq/wharf/monitoring/rrd"
	"github.com/wharfhq/wharf/monitoring/seriesstore"
)

// fourSlots makes segments of four Falcon-layout slots (72 KiB each), so a
// few series span several segments.
func fourSlots(o *seriesstore.Options) { o.SegmentBytes = 4 * 73728 }

type slotAt struct {
	seg string
	off int64
}

func slotsOf(t *testing.T, st *seriesstore.Store, keys []string) map[string]slotAt {
	t.Helper()
	out := make(map[string]slotAt)
	for _, k := range keys {
		seg, off, ok := st.SlotOf(k)
		if !ok {
			t.Fatalf("series %q has no slot", k)
		}
		out[k] = slotAt{seg, off}
	}
	return out
}

// TestNewSeriesReplayIntoTheirSlotsAfterACrash: series created after the
// last checkpoint, some in a segment created after it, whose file a crash
// lost. The log re-creates each in the slot it had, and later series take
// the slots left free.
func TestNewSeriesReplayIntoTheirSlotsAfterACrash(t *testing.T) {
	dir := t.TempDir()
	st := open(t, dir, fourSlots)
	m := newModel()
	r := rand.New(rand.NewPCG(11, 12))
	clock := int64(1_750_000_000)
	keys := keysN(11)
	old := keys[:6] // segments 0 and 1
	pts := points(r, old, 300, &clock)
	if _, err := st.Update(pts); err != nil {
		t.Fatal(err)
	}
	m.apply(t, pts)
	if err := st.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	pts = points(r, keys, 400, &clock) // creates keys[6:]: segment 1's free slots, then segment 2
	if _, err := st.Update(pts); err != nil {
		t.Fatal(err)
	}
	m.apply(t, pts)
	before := slotsOf(t, st, keys)
	st.Abandon()
	lost := filepath.Join(dir, "slots", "73728", "000002.seg")
	if err := os.Remove(lost); err != nil {
		t.Fatalf("the third segment should exist: %v", err)
	}

	st = open(t, dir, fourSlots)
	m.compare(t, st)
	after := slotsOf(t, st, keys)
	for _, k := range keys {
		if before[k] != after[k] {
			t.Fatalf("series %q replayed into %v, was in %v", k, after[k], before[k])
		}
	}
	if total, free := st.Slots(); total != 12 || free != 1 {
		t.Fatalf("%d slots, %d free; want 12, 1", total, free)
	}
	extra := seriesstore.Point{Key: "late/x", Step: 60, CounterType: "GAUGE", Time: clock, Value: 1}
	if _, err := st.Update([]seriesstore.Point{extra}); err != nil {
		t.Fatal(err)
	}
	m.apply(t, []seriesstore.Point{extra})
	if seg, off, _ := st.SlotOf("late/x"); seg != lost || off != 3*73728 {
		t.Fatalf("new series in %s@%d, want the free slot %s@%d", seg, off, lost, 3*73728)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = open(t, dir, fourSlots)
	defer st.Close()
	m.compare(t, st)
}

// TestCorruptSlotIsFreedAndReused: a slot that rotted while the store was
// closed is copied aside at open and freed; the next new series takes it,
// and the neighbours in its segment are untouched.
func TestCorruptSlotIsFreedAndReused(t *testing.T) {
	dir := t.TempDir()
	st := open(t, dir, fourSlots)
	m := newModel()
	r := rand.New(rand.NewPCG(13, 14))
	clock := int64(1_750_000_000)
	keys := keysN(4)
	pts := points(r, keys, 300, &clock)
	if _, err := st.Update(pts); err != nil {
		t.Fatal(err)
	}
	m.apply(t, pts)
	seg, off, _ := st.SlotOf(keys[1])
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	rot(t, seg, off, 20)
	delete(m.series, keys[1])

	st = open(t, dir, fourSlots)
	m.compare(t, st)
	if total, free := st.Slots(); total != 4 || free != 1 {
		t.Fatalf("%d slots, %d free; want 4, 1", total, free)
	}
	aside := corruptFiles(t, dir)
	if len(aside) != 1 {
		t.Fatalf("set aside: %v", aside)
	}
	if b, err := os.ReadFile(aside[0]); err != nil || len(b) != 73728 {
		t.Fatalf("the copy aside is not the whole slot: %d bytes, %v", len(b), err)
	}
	fresh := seriesstore.Point{Key: "fresh/x", Step: 60, CounterType: "DERIVE", Time: clock, Value: 5}
	if _, err := st.Update([]seriesstore.Point{fresh}); err != nil {
		t.Fatal(err)
	}
	m.apply(t, []seriesstore.Point{fresh})
	if s2, o2, _ := st.SlotOf("fresh/x"); s2 != seg || o2 != off {
		t.Fatalf("new series in %s@%d, want the freed slot %s@%d", s2, o2, seg, off)
	}
	if total, free := st.Slots(); total != 4 || free != 0 {
		t.Fatalf("%d slots, %d free; want 4, 0", total, free)
	}
	m.compare(t, st)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = open(t, dir, fourSlots)
	defer st.Close()
	m.compare(t, st)
	if got := corruptFiles(t, dir); len(got) != 1 {
		t.Fatalf("set aside after reopen: %v", got)
	}
}

// TestSpecsOfDifferentSizesGetTheirOwnClass: a spec that makes smaller
// series lives in slots of its own size, across reopens.
func TestSpecsOfDifferentSizesGetTheirOwnClass(t *testing.T) {
	small := func(step int64, typ string) (rrd.Spec, error) {
		s, err := rrd.FalconSpec(step, typ)
		if step == 30 {
			s.Archives = s.Archives[:1]
		}
		return s, err
	}
	opt := func(o *seriesstore.Options) { o.Spec = small }
	dir := t.TempDir()
	st := open(t, dir, opt)
	pts := []seriesstore.Point{
		{Key: "a/big", Step: 60, CounterType: "GAUGE", Time: 1_750_000_000, Value: 1},
		{Key: "a/small", Step: 30, CounterType: "GAUGE", Time: 1_750_000_000, Value: 1},
		{Key: "a/small", Step: 30, CounterType: "GAUGE", Time: 1_750_000_030, Value: 2},
	}
	if _, err := st.Update(pts); err != nil {
		t.Fatal(err)
	}
	big, _, _ := st.SlotOf("a/big")
	sm, _, _ := st.SlotOf("a/small")
	if filepath.Base(filepath.Dir(big)) != "73728" || filepath.Base(filepath.Dir(sm)) != "12288" {
		t.Fatalf("slots in %s and %s", big, sm)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = open(t, dir, opt)
	defer st.Close()
	v, err := st.Fetch("a/small", rrd.Query{CF: rrd.Average, Start: 1_750_000_000 - 30, End: 1_750_000_030, Step: 30})
	if err != nil || st.Len() != 2 || v.LastUp != 1_750_000_030 || !slices.Contains(v.Values, 2) {
		t.Fatalf("after reopen: %d series, %+v, %v", st.Len(), v, err)
	}
}

// TestSegmentsGrowWithTheirSeries: a segment's file holds the slots taken
// (doubling), not its whole capacity, so a store of a few series takes a
// few slots of disk (a small file system holds it).
func TestSegmentsGrowWithTheirSeries(t *testing.T) {
	dir := t.TempDir()
	st := open(t, dir)
	defer st.Close()
	seg := filepath.Join(dir, "slots", "73728", "000000.seg")
	for i, want := range []int64{1, 2, 4, 4, 8} {
		p := seriesstore.Point{Key: fmt.Sprintf("h/m%d", i), Step: 60, CounterType: "GAUGE", Time: 1_750_000_000, Value: 1}
		if _, err := st.Update([]seriesstore.Point{p}); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(seg)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() != want*73728 {
			t.Fatalf("after %d series the segment has %d bytes, want %d slots", i+1, fi.Size(), want)
		}
	}
	if total, free := st.Slots(); total != 910 || free != 905 {
		t.Fatalf("%d slots, %d free; want 910, 905", total, free)
	}
}

// TestCheckpointsBesideUpdatesLoseNothing: checkpoints (whose fsyncs run
// without the store's lock) over and over beside updates, then a crash:
// the reopened store holds every acknowledged point.
func TestCheckpointsBesideUpdatesLoseNothing(t *testing.T) {
	dir := t.TempDir()
	st := open(t, dir, fourSlots)
	m := newModel()
	r := rand.New(rand.NewPCG(15, 16))
	clock := int64(1_750_000_000)
	keys := keysN(10)
	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		n := 0
		for {
			if err := st.Checkpoint(); err != nil {
				t.Error(err)
			}
			n++
			select {
			case <-stop:
				done <- n
				return
			default:
			}
		}
	}()
	for range 40 {
		pts := points(r, keys, 100, &clock)
		if _, err := st.Update(pts); err != nil {
			t.Fatal(err)
		}
		m.apply(t, pts)
	}
	close(stop)
	t.Logf("%d checkpoints beside 40 updates", <-done)
	m.compare(t, st)
	st.Abandon()
	st = open(t, dir, fourSlots)
	defer st.Close()
	m.compare(t, st)
}
