package monitor_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/internal/testenv"
)

// fakeSpace is a filesystem whose free space the test sets.
type fakeSpace struct{ free atomic.Uint64 }

func (f *fakeSpace) Space(string) (uint64, uint64, error) { return f.free.Load(), 100 << 30, nil }

// syncBuffer is a log sink safe for the writer's goroutines.
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

// found reports whether a query finds the series with a known value at ts.
func (s *server) found(t *testing.T, endpoint string, ts int64) bool {
	t.Helper()
	rep := s.query(t, fmt.Sprintf("endpoint=%s&metric=m&start=%d&end=%d", endpoint, ts-600, ts+60))
	v, ok := valueAt(rep, ts)
	return ok && v != nil
}

// metricValue returns the value of name (with labels) on the server's set, "" when absent.
func (s *server) metricValue(name string) string {
	var b bytes.Buffer
	s.set.WritePrometheus(&b)
	for _, line := range strings.Split(b.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			return rest
		}
	}
	return ""
}

// TestLowDiskPausesSeriesWrites: below the floor, batches are neither
// written nor acknowledged (held in flight, none is requeued or
// dead-lettered), the pause is logged once and shown as a metric; when
// space returns every point is written, in order.
func TestLowDiskPausesSeriesWrites(t *testing.T) {
	space := &fakeSpace{}
	space.free.Store(10 << 30)
	logs := &syncBuffer{}
	s := newServer(t, serverOptions{fn: monitor.Options{Shards: 1}, writer: func(o *monitor.WriterOptions) {
		o.Disk = monitor.DiskGuardOptions{Floor: monitor.DiskFloor{Bytes: 1 << 30}, Space: space, Interval: time.Millisecond}
		o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	}})
	t0 := time.Now().Unix()/60*60 - 600
	// One push per series: the points of one batch are written in order
	// (separate batches of one series may be written in either order).
	push := func(endpoint string, ts ...int64) {
		t.Helper()
		var items []string
		for _, x := range ts {
			items = append(items, item(endpoint, "m", x, 60, 5, "GAUGE", ""))
		}
		if r := s.do(t, "POST", "/v1/push", "ingest", array(items...)); r.Status != 200 {
			t.Fatalf("push: %d %s", r.Status, r.Body)
		}
	}
	push("old", t0, t0+60)
	testenv.Eventually(t, 10*time.Second, func() error {
		if !s.found(t, "old", t0+60) {
			return fmt.Errorf("old not stored yet")
		}
		return nil
	})

	space.free.Store(512 << 20) // below the 1 GiB floor
	push("new", t0, t0+60, t0+120)
	push("old", t0+120)
	// The batches are held, in flight, unacknowledged.
	inFlight := `wharf_bus_consumer_in_flight{topic="metrics.series.0",channel="series"}`
	testenv.Eventually(t, 20*time.Second, func() error {
		if v := s.metricValue(inFlight); v != "2" {
			return fmt.Errorf("in flight %q", v)
		}
		return nil
	})
	if s.found(t, "new", t0+60) || s.found(t, "old", t0+120) {
		t.Fatal("points written below the floor")
	}
	if v := s.metricValue("wharf_monitor_series_disk_low"); v != "1" {
		t.Fatalf("wharf_monitor_series_disk_low %q", v)
	}
	if err := s.writer.DiskCheck(t.Context()); err == nil || !strings.Contains(err.Error(), "512.0 MiB free") || !strings.Contains(err.Error(), "the floor is 1.0 GiB") {
		t.Fatalf("disk check: %v", err)
	}
	if n := strings.Count(logs.String(), "series writes paused"); n != 1 {
		t.Fatalf("the pause is logged %d times, want once:\n%s", n, logs.String())
	}

	space.free.Store(2 << 30)
	testenv.Eventually(t, 10*time.Second, func() error {
		if !s.found(t, "new", t0+120) || !s.found(t, "old", t0+120) {
			return fmt.Errorf("points not written after space returned")
		}
		return nil
	})
	for _, what := range []string{"dead_lettered", "requeued"} {
		if v := s.metricValue(`wharf_bus_consumer_` + what + `_total{topic="metrics.series.0",channel="series"}`); v != "0" && v != "" {
			t.Fatalf("%s %s", what, v)
		}
	}
	if v := s.metricValue("wharf_monitor_series_disk_low"); v != "0" {
		t.Fatalf("wharf_monitor_series_disk_low %q after recovery", v)
	}
	if n := strings.Count(logs.String(), "series writes resumed"); n != 1 {
		t.Fatalf("the recovery is logged %d times, want once", n)
	}
}

// TestLowDiskOnARealTinyFilesystem: the guard on statfs of a real 8 MiB
// tmpfs, filled by a file and freed by removing it.
func TestLowDiskOnARealTinyFilesystem(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount: %v: %s", err, out)
		}
	})
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, bytes.Repeat([]byte{1}, 6<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newServer(t, serverOptions{fn: monitor.Options{Shards: 1}, writer: func(o *monitor.WriterOptions) {
		o.Dir = filepath.Join(dir, "series")
		o.Disk = monitor.DiskGuardOptions{Floor: monitor.DiskFloor{Percent: 50}, Interval: time.Millisecond}
	}})
	t0 := time.Now().Unix()/60*60 - 600
	if r := s.do(t, "POST", "/v1/push", "ingest", array(item("h", "m", t0, 60, 5, "GAUGE", ""), item("h", "m", t0+60, 60, 5, "GAUGE", ""))); r.Status != 200 {
		t.Fatalf("push: %d %s", r.Status, r.Body)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if s.writer.DiskCheck(t.Context()) == nil {
			return fmt.Errorf("the guard has not refused a batch yet")
		}
		return nil
	})
	if s.found(t, "h", t0+60) {
		t.Fatal("written with less than half of the tmpfs free")
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if !s.found(t, "h", t0+60) {
			return fmt.Errorf("not written after the filler was removed")
		}
		return nil
	})
}
