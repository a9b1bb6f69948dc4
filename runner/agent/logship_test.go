package agent

import (
	"testing"

	"github.com/VictoriaMetrics/metrics"
)

// TestLogShipperNeverBlocks: a process's lines past the shipper's buffer
// are dropped and counted per app (reported with the next batch) and in
// the metric; the process's pump never waits.
func TestLogShipperNeverBlocks(t *testing.T) {
	t.Parallel()
	set := metrics.NewSet()
	s := newLogShipper(2, set)
	web := s.lineFunc("shop", "h1.shop.20001", "web")
	worker := s.lineFunc("mail", "h1.mail.worker", "worker")
	for range 5 {
		web("stdout", []byte("line"))
	}
	worker("stderr", []byte{'o', 0xff, 'k'})
	if n := len(s.queue); n != 2 {
		t.Fatalf("queued %d lines, want the buffer's 2", n)
	}
	first := <-s.queue
	if first.App != "shop" || first.Instance != "h1.shop.20001" || first.Process != "web" || first.Stream != "stdout" || first.Text != "line" || first.At.IsZero() {
		t.Fatalf("line %+v", first)
	}
	worker("stderr", []byte{'o', 0xff, 'k'})
	<-s.queue
	if l := <-s.queue; l.Text != "o\uFFFDk" || l.Stream != "stderr" {
		t.Fatalf("invalid UTF-8 is replaced, not refused: %+v", l)
	}
	lost := s.takeLost()
	if lost["shop"] != 3 || lost["mail"] != 1 || len(lost) != 2 {
		t.Fatalf("lost %v", lost)
	}
	if s.takeLost() != nil {
		t.Fatal("the drop counts are reported once")
	}
	if got := s.dropped.Get(); got != 4 {
		t.Fatalf("wharf_agent_log_lines_dropped_total %d", got)
	}
}
