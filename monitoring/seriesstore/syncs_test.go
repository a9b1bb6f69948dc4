package seriesstore_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

// Syncs() counts fsyncs of the log (the series writer exports it as
// wharf_monitor_series_syncs_total): a Sync whose records an overlapping
// fsync already covered does no fsync and counts none.
func TestSyncsCountsOnlyFsyncsThatHappened(t *testing.T) {
	t.Parallel()
	st := open(t, t.TempDir())
	defer st.Close()
	r := rand.New(rand.NewPCG(1, 1))
	keys, clock := keysN(4), int64(1_750_000_000)
	if _, err := st.Update(points(r, keys, 50, &clock)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Append(points(r, keys, 50, &clock)); err != nil {
		t.Fatal(err)
	}
	var fsyncs atomic.Int32
	entered, release := make(chan struct{}), make(chan struct{})
	st.SetFsync(func(f *os.File) error {
		if fsyncs.Add(1) == 1 {
			close(entered)
			<-release
		}
		return f.Sync()
	})
	before := st.Syncs()
	a := make(chan error, 1)
	go func() { a <- st.Sync() }()
	<-entered
	b := make(chan error, 1)
	go func() { b <- st.Sync() }() // same records: waits for a's fsync, which covers them
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := inFsync("TestSyncsCountsOnlyFsyncsThatHappened"); n < 2 {
			return fmt.Errorf("%d of this test's Syncs in the log's fsync", n)
		}
		return nil
	})
	close(release)
	if err := <-a; err != nil {
		t.Fatal(err)
	}
	if err := <-b; err != nil {
		t.Fatal(err)
	}
	if got, n := st.Syncs()-before, fsyncs.Load(); int32(got) != n {
		t.Errorf("Syncs() grew by %d for %d fsync(s)", got, n)
	}
}

// inFsync is how many goroutines started by test are in the log's fsync
// (running it, or waiting for the one in progress).
func inFsync(test string) int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "seriesstore.(*wal).fsync(") && strings.Contains(g, test) {
			count++
		}
	}
	return count
}
