package seriesstore_test

import (
	"math/rand/v2"
	"os"
	"sync/atomic"
	"testing"

	"github.com/wharfhq/wharf/monitoring/seriesstore"
)

// stuckPass appends to st until a background apply pass stops at its
// first slice; the pass stays there until the returned func is called.
func stuckPass(t *testing.T, st *seriesstore.Store, r *rand.Rand, keys []string, clock *int64, m *model) (release func()) {
	t.Helper()
	entered, release := stallFirstSlice(st, 1)
	appendUntil(t, entered, func() {
		pts := points(r, keys, 400, clock)
		m.apply(t, pts)
		if _, err := st.Append(pts); err != nil {
			t.Fatal(err)
		}
	})
	return release
}

// Past 2 × MaxDeferredPoints an Append applies about as many points as it
// queued. A writer that syncs after its Appends (the series writer's group
// fsync) has series whose records are synced: the Append applies those,
// and fsyncs nothing (it fsynced the log holding the store's lock, on
// every Append while the passes lagged).
func TestAppendPastTheBoundAppliesSyncedSeriesWithoutAnFsync(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(13, 5))
	keys, clock := keysN(48), int64(1_750_000_000)
	const bound = 500
	st, m := applyStore(t, dir, r, keys, &clock, func(o *seriesstore.Options) { o.MaxDeferredPoints = bound })
	defer st.Close()
	release := stuckPass(t, st, r, keys, &clock, m)
	var inAppend atomic.Bool
	var fsyncsInAppend atomic.Int32
	st.SetFsync(func(f *os.File) error {
		if inAppend.Load() {
			fsyncsInAppend.Add(1)
		}
		return f.Sync()
	})
	if err := st.Sync(); err != nil {
		t.Fatal(err)
	}
	for i := range 12 { // a quarter of the series per Append, a Sync after each
		group := keys[12*(i%4) : 12*(i%4)+12] // (points types a key by its index mod 3)
		pts := points(r, group, 400, &clock)
		m.apply(t, pts)
		inAppend.Store(true)
		_, err := st.Append(pts)
		inAppend.Store(false)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Sync(); err != nil {
			t.Fatal(err)
		}
		if queued, _ := seriesstore.Waiting(st); queued >= 2*bound {
			t.Fatalf("%d points wait beside the pass after %d Appends, want fewer than %d", queued, i+1, 2*bound)
		}
	}
	if n := fsyncsInAppend.Load(); n != 0 {
		t.Errorf("Appends past the bound fsynced the log %d times (the writer's Syncs had synced series for them to apply)", n)
	}
	release()
	m.compare(t, st)
}

// A writer that never syncs leaves an Append past the bound no synced
// series to apply: it syncs the log first, without the store's lock (as a
// read does), and the waiting points stay bounded.
func TestAppendPastTheBoundWithoutASyncFsyncsWithoutTheLock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(13, 6))
	keys, clock := keysN(40), int64(1_750_000_000)
	const bound = 500
	st, m := applyStore(t, dir, r, keys, &clock, func(o *seriesstore.Options) { o.MaxDeferredPoints = bound })
	release := stuckPass(t, st, r, keys, &clock, m)
	var fsyncs, locked atomic.Int32
	st.SetFsync(func(f *os.File) error {
		fsyncs.Add(1)
		if seriesstore.HoldsLock(st) { // only this goroutine uses the store: the fsync's caller holds it
			locked.Add(1)
		}
		return f.Sync()
	})
	for i := range 8 {
		pts := points(r, keys, 400, &clock)
		m.apply(t, pts)
		if _, err := st.Append(pts); err != nil {
			t.Fatal(err)
		}
		if queued, _ := seriesstore.Waiting(st); queued >= 2*bound {
			t.Fatalf("%d points wait beside the pass after %d Appends, want fewer than %d", queued, i+1, 2*bound)
		}
	}
	if fsyncs.Load() == 0 {
		t.Fatal("no Append past the bound synced the log (it has no synced series to apply)")
	}
	if n := locked.Load(); n != 0 {
		t.Errorf("%d of %d fsyncs by Appends past the bound held the store's lock", n, fsyncs.Load())
	}
	release()
	m.compare(t, st)
	powerCutAndCompare(t, st, dir, m)
}
