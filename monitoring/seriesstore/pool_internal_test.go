package seriesstore

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
)

// The pool of free chunks keeps at most 4 × MaxDeferredPoints points'
// worth (doc.go): one Append far larger than that queues every point
// before it applies them, and the chunks beyond the bound go to the
// garbage collector once applied instead of staying in the pool for good.
func TestChunkPoolKeepsItsBoundAfterAHugeAppend(t *testing.T) {
	t.Parallel()
	const maxDef, nSeries, n = 100, 10, 20_000
	st, err := Open(Options{Dir: t.TempDir(), MaxDeferredPoints: maxDef, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pts := make([]Point, n)
	for i := range pts {
		pts[i] = Point{Key: fmt.Sprintf("h%d/cpu", i%nSeries), Step: 60, CounterType: "GAUGE", Time: 1_750_000_000 + int64(i/nSeries)*60, Value: float64(i)}
	}
	if _, err := st.Update(pts); err != nil {
		t.Fatal(err)
	}
	if err := st.Checkpoint(); err != nil { // after the background pass the Update started, if any
		t.Fatal(err)
	}
	if queued, taken := Waiting(st); queued+taken != 0 {
		t.Fatalf("%d points wait after a checkpoint", queued+taken)
	}
	st.mu.Lock()
	chunks, counted := 0, st.chunks.n
	for c := st.chunks.free; c != nil; c = c.next {
		chunks++
	}
	st.mu.Unlock()
	bound := (4*maxDef + chunkSamples - 1) / chunkSamples
	if chunks > bound {
		t.Errorf("the pool keeps %d chunks (%d KiB) after one Update of %d points, want at most %d (4 × MaxDeferredPoints)", chunks, chunks*256/1024, n, bound)
	}
	if chunks != counted {
		t.Errorf("the pool counts %d chunks, holds %d", counted, chunks)
	}
	// What the pool keeps is reused: a second such Update still ends
	// within the bound and reads back its points.
	for i := range pts {
		pts[i].Time += n / nSeries * 60
	}
	if _, err := st.Update(pts); err != nil {
		t.Fatal(err)
	}
	info, err := st.Info("h9/cpu") // the last point's series
	if err != nil {
		t.Fatal(err)
	}
	if want := pts[len(pts)-1].Time; info.LastUp != want {
		t.Errorf("h9/cpu last updated at %d, want %d", info.LastUp, want)
	}
}
