package seriesstore_test

import (
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/monitoring/seriesstore"
)

// A background pass goes on with more passes while points keep coming;
// a checkpoint (Run's, every CheckpointEvery) or Close waiting meanwhile
// goes first after the pass in progress, instead of waiting until the
// Appends stop. Here the slices of every pass append more points than
// MaxDeferredPoints in all, so the background passes never run out of
// work.
func TestCheckpointDoesNotWaitForBackgroundPassesWhileAppendsGoOn(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(21, 1))
	keys, clock := keysN(40), int64(1_750_000_000)
	const bound = 300
	st, m := applyStore(t, dir, r, keys, &clock, func(o *seriesstore.Options) { o.MaxDeferredPoints = bound })
	ckDone, ckErr := make(chan struct{}), make(chan error, 1)
	entered, goOn := make(chan struct{}), make(chan struct{})
	var stop atomic.Bool
	var slices atomic.Int32
	first := true
	// One pass at a time calls the hook (ckpt), so it alone appends once
	// the test's loop below stopped.
	seriesstore.SetApplyHook(st, 1, func() {
		slices.Add(1)
		if first { // a background pass's first slice
			first = false
			close(entered)
			<-goOn
		}
		if stop.Load() {
			return
		}
		// A few points a slice: more than a pass applies (it takes
		// about 40 series, a slice each), never 2 × bound (where an
		// Append applies some itself, down to fewer than bound).
		pts := points(r, keys, bound/6, &clock)
		m.apply(t, pts)
		if _, err := st.Append(pts); err != nil {
			t.Error(err)
		}
	})
	for i := 0; ; i++ { // past the bound until a background pass starts
		pts := points(r, keys, bound, &clock)
		m.apply(t, pts)
		if _, err := st.Append(pts); err != nil {
			t.Fatal(err)
		}
		select {
		case <-entered:
		default:
			if i == 200 {
				t.Fatal("no background pass after 200 Appends")
			}
			continue
		}
		break
	}
	go func() {
		defer close(ckDone)
		ckErr <- st.Checkpoint()
	}()
	close(goOn)
	select {
	case <-ckDone:
	case <-time.After(liveness):
		t.Errorf("the checkpoint waited for the background passes while points kept coming (%d slices applied, not done after %s)", slices.Load(), liveness)
	}
	stop.Store(true)
	<-ckDone
	if err := <-ckErr; err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	re := open(t, dir)
	defer re.Close()
	m.compare(t, re)
}
