package seriesstore_test

import (
	"math/rand/v2"
	"os"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/wharfhq/wharf/monitoring/seriesstore"
)

// failFirstFsync makes st fsync its log as Linux (4.13 and later) does
// after a write-back error: the first fsync fails with EIO and the dirty
// pages are gone (the file is cut back to lostTo, what was durable); the
// error is reported once per open file, so every later fsync of it returns
// 0. The first fsync waits for release after signalling entered.
func failFirstFsync(t *testing.T, st *seriesstore.Store, lostTo int64, entered chan<- struct{}, release <-chan struct{}) {
	var calls atomic.Int32
	st.SetFsync(func(f *os.File) error {
		if calls.Add(1) != 1 {
			return f.Sync()
		}
		if err := os.Truncate(f.Name(), lostTo); err != nil {
			t.Error(err)
		}
		close(entered)
		<-release
		return syscall.EIO
	})
}

// A Sync whose fsync fails fails the store, whatever runs beside it: a
// checkpoint that rotates the log meanwhile (its own fsync of the segment
// would return 0 for the lost records), or another Sync (likewise). Before,
// both returned nil, and the series writer acknowledged points the kernel
// had reported lost (found by review: one was acknowledged and gone after a
// restart).
func TestFailedLogFsyncIsNeverCoveredByAnother(t *testing.T) {
	for _, beside := range []string{"checkpoint", "sync"} {
		t.Run(beside, func(t *testing.T) {
			dir := t.TempDir()
			st := open(t, dir)
			defer st.Close()
			r := rand.New(rand.NewPCG(1, 2))
			keys := keysN(8)
			clock := int64(1_750_000_000)
			if _, err := st.Update(points(r, keys[:6], 100, &clock)); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Append(points(r, keys, 100, &clock)); err != nil {
				t.Fatal(err)
			}
			_, _, synced := st.LogState()
			entered, release := make(chan struct{}), make(chan struct{})
			failFirstFsync(t, st, synced, entered, release)
			first := make(chan error, 1)
			go func() { first <- st.Sync() }()
			<-entered // the first fsync is under way (and will fail)
			other := make(chan error, 1)
			go func() {
				if beside == "checkpoint" {
					other <- st.Checkpoint()
				} else {
					other <- st.Sync()
				}
			}()
			close(release)
			if err := <-first; err == nil {
				t.Fatal("Sync returned nil although its fsync failed with EIO")
			}
			if err := <-other; err == nil {
				t.Fatalf("the %s beside the failed fsync returned nil: it would acknowledge records the kernel lost", beside)
			}
		})
	}
}
