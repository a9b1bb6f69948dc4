package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/metric"
	"github.com/wharfhq/wharf/monitoring/seriesstore"
)

// Group fsync: a batch's handler (which acknowledges its message to
// nsqd) returns only after an fsync of the log covers its points. With a
// long SyncInterval, batches written after an fsync wait for the next
// one, which starts when every batch the consumer may hold waits for it;
// a power cut (pages kept, the unsynced log lost) before it loses exactly
// the batches not acknowledged, and after it none.
func TestWriterAcknowledgesBatchesOnlyAfterTheirFsync(t *testing.T) {
	const inFlight = 3
	dir := t.TempDir()
	w, err := NewWriter(WriterOptions{Dir: dir, Shards: 1, NSQDAddrs: []string{"127.0.0.1:1"},
		MaxInFlight: inFlight, SyncInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	sr := w.shards[0]
	st := sr.store
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.commit(ctx, 0, st, sr.queue) }()
	t.Cleanup(func() { cancel(); <-done })

	const series = 10
	t0 := int64(1_700_000_000) / 60 * 60
	body := func(msg int) []byte { // the batch of message msg: series of its own
		pts := make([]metric.Point, series)
		for i := range pts {
			pts[i] = metric.Point{Endpoint: fmt.Sprintf("host-%d-%d", msg, i), Metric: "cpu.busy", CounterType: metric.Gauge,
				Step: 60, Time: t0 + int64(msg)*60, Value: float64(i)}
		}
		return metric.AppendBatch(nil, pts)
	}
	handle := w.handler(0, sr.queue)
	send := func(msg int) <-chan error {
		res := make(chan error, 1)
		go func() { res <- handle(ctx, &bus.Message{Body: body(msg)}) }()
		return res
	}
	written := func(msgs int) {
		t.Helper()
		testenv.Eventually(t, 10*time.Second, func() error {
			if n := w.stats.accepted.Get(); n != uint64(msgs*series) {
				return fmt.Errorf("%d points written, want %d", n, msgs*series)
			}
			return nil
		})
	}

	// The first batch after a quiet time is synced at once.
	if err := <-send(1); err != nil {
		t.Fatal(err)
	}
	if _, wr, synced := st.LogState(); wr != synced || w.stats.syncs.Get() != 1 {
		t.Fatalf("acknowledged with %d of %d log bytes synced, %d fsyncs", synced, wr, w.stats.syncs.Get())
	}
	// The next ones wait for the next fsync: written, not acknowledged.
	waiting := []<-chan error{send(2), send(3)}
	written(3)
	for i, res := range waiting {
		select {
		case err := <-res:
			t.Fatalf("batch %d answered (%v) before the fsync due next", i+2, err)
		default:
		}
	}
	path, wr, synced := st.LogState()
	if synced >= wr {
		t.Fatalf("log: %d bytes written, %d synced: batches 2 and 3 were synced", wr, synced)
	}
	checkPowerCut(t, filepath.Join(dir, "0"), path, synced, 1, 3, t0)

	// The batch that makes every one the consumer may hold wait starts it.
	waiting = append(waiting, send(4))
	for i, res := range waiting {
		if err := <-res; err != nil {
			t.Fatalf("batch %d: %v", i+2, err)
		}
	}
	path, wr, synced = st.LogState()
	if synced != wr || w.stats.syncs.Get() != 2 {
		t.Fatalf("acknowledged with %d of %d log bytes synced, %d fsyncs", synced, wr, w.stats.syncs.Get())
	}
	checkPowerCut(t, filepath.Join(dir, "0"), path, synced, 4, 4, t0)
}

// checkPowerCut copies the store in dir as a power cut may leave it (every
// page of its segments written, its log cut to the synced bytes), opens
// the copy and wants the series of messages 1..acked with their points
// and those of messages acked+1..sent absent.
func checkPowerCut(t *testing.T, dir, logPath string, synced int64, acked, sent int, t0 int64) {
	t.Helper()
	cp := t.TempDir()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "LOCK" {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		to := filepath.Join(cp, rel)
		if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
			return err
		}
		return copyFile(p, to)
	})
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(dir, logPath)
	if err := os.Truncate(filepath.Join(cp, rel), synced); err != nil {
		t.Fatal(err)
	}
	st, err := seriesstore.Open(seriesstore.Options{Dir: cp, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for msg := 1; msg <= sent; msg++ {
		info, err := st.Info(fmt.Sprintf("host-%d-0/cpu.busy", msg))
		switch {
		case msg <= acked && (err != nil || info.LastUp != t0+int64(msg)*60):
			t.Fatalf("after a power cut: acknowledged batch %d: %+v, %v", msg, info, err)
		case msg > acked && !errors.Is(err, seriesstore.ErrNotFound):
			t.Fatalf("after a power cut: batch %d, never synced, left %+v, %v", msg, info, err)
		}
	}
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}
