package seriesstore_test

import (
	"math/rand/v2"
	"os"
	"sync/atomic"
	"testing"

	"github.com/wharfhq/wharf/monitoring/rrd"
)

// A read of a series whose newest points are not synced yet syncs the log
// before it applies them (the write-ahead rule), but not holding the
// store's lock: the writer's Appends go on during that fsync, as during
// a Sync's.
func TestReadSyncsTheLogWithoutHoldingTheWriter(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(17, 1))
	keys, clock := keysN(20), int64(1_750_000_000)
	st, m := applyStore(t, t.TempDir(), r, keys, &clock)
	defer st.Close()
	pts := points(r, keys, 200, &clock)
	if _, err := st.Append(pts); err != nil { // logged, not synced
		t.Fatal(err)
	}
	m.apply(t, pts)
	entered, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	st.SetFsync(func(f *os.File) error {
		if calls.Add(1) == 1 {
			close(entered)
			<-release
		}
		return f.Sync()
	})
	read := make(chan error, 1)
	key := pts[len(pts)-1].Key
	go func() {
		_, err := st.Fetch(key, rrd.Query{CF: rrd.Average, Start: clock - 3600, End: clock})
		read <- err
	}()
	<-entered // the read's fsync is under way
	more := points(r, keys, 200, &clock)
	m.apply(t, more)
	late := without(t, "Append", func() error {
		_, err := st.Append(more)
		return err
	})
	close(release)
	if err := <-read; err != nil {
		t.Fatal(err)
	}
	<-late
	m.compare(t, st)
}

// A read of a series whose points are all synced applies them without a
// sync, while other series have unsynced points (their records, not its
// own, are what a power cut may take): after a power cut the store holds
// every synced point, and nothing of the unsynced ones.
func TestReadBesideUnsyncedPointsOfOthersSurvivesAPowerCut(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(17, 2))
	keys, clock := keysN(20), int64(1_750_000_000)
	st, m := applyStore(t, dir, r, keys, &clock)
	unsynced := points(r, keys[:10], 200, &clock)
	if _, err := st.Append(unsynced); err != nil { // never synced: not in the model
		t.Fatal(err)
	}
	syncs := st.Syncs()
	for _, key := range keys[10:] {
		if _, err := st.Info(key); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.Syncs() - syncs; n != 0 {
		t.Fatalf("reading series whose points are synced fsynced the log %d times", n)
	}
	powerCutAndCompare(t, st, dir, m)
}
