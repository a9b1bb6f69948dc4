package agent

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/testenv"
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

// TestAppLogsShipped: what a deployed app prints reaches the API with its
// app, instance, process and stream; while the API refuses them the lines
// are dropped, and the next batch that goes through reports how many.
func TestAppLogsShipped(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sha := h.cp.add("1.0.0", makeBundle(t, bundleSpec{version: "1.0.0"}))
	opts := h.options()
	opts.LogShipEvery = 50 * time.Millisecond
	h.start(opts)
	h.publish(h.task("d1", 1, wire.TaskDeploy, "1.0.0", sha))
	if ev := h.waitFinal("d1", 1, 30*time.Second); ev.State != wire.PhaseHealthy {
		t.Fatalf("deploy: %+v", ev)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		lines, _ := h.cp.shipped()
		n := 0
		for _, l := range lines {
			if l.App == "shop" && l.Process == "web" && l.Stream == "stdout" && strings.Contains(l.Text, "listening on") &&
				strings.Contains(l.Text, "("+l.Instance+")") && !l.At.IsZero() {
				n++
			}
		}
		if n != 2 {
			return fmt.Errorf("want the start line of both instances, got %+v", lines)
		}
		return nil
	})

	// The API refuses batches: a new release's lines are dropped and
	// counted, and reported once it accepts them again.
	h.cp.setLogsDown(true)
	sha2 := h.cp.add("1.1.0", makeBundle(t, bundleSpec{version: "1.1.0"}))
	h.publish(h.task("d2", 1, wire.TaskDeploy, "1.1.0", sha2))
	if ev := h.waitFinal("d2", 1, 30*time.Second); ev.State != wire.PhaseHealthy {
		t.Fatalf("deploy: %+v", ev)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := h.cp.refusedLines("sample 1.1.0"); n != 2 {
			return fmt.Errorf("%d start lines of 1.1.0 refused so far", n)
		}
		return nil
	})
	h.cp.setLogsDown(false)
	testenv.Eventually(t, 10*time.Second, func() error {
		lines, lost := h.cp.shipped()
		for _, l := range lines {
			if strings.Contains(l.Text, "sample 1.1.0") {
				t.Fatalf("a line of a refused batch arrived: %+v", l)
			}
		}
		if lost["shop"] < 2 {
			return fmt.Errorf("lost %v", lost)
		}
		return nil
	})
}
