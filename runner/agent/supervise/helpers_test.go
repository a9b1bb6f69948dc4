package supervise

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

// waitFor polls cond every 10ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, timeout, func() error {
		if !cond() {
			return fmt.Errorf("waiting for %s", what)
		}
		return nil
	})
}

// testSpec returns a spec with test-friendly timings and its own log dir.
func testSpec(t *testing.T, name, command string) Spec {
	t.Helper()
	return Spec{
		Name:      name,
		Command:   command,
		LogDir:    t.TempDir(),
		StopGrace: 3 * time.Second,
		Backoff:   BackoffOptions{Min: 20 * time.Millisecond, Max: 200 * time.Millisecond},
	}
}

// startT starts spec and stops it at cleanup.
func startT(t *testing.T, spec Spec, opts Options) *Process {
	t.Helper()
	p, err := Start(context.Background(), spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := p.Stop(ctx); err != nil {
			t.Errorf("cleanup stop: %v", err)
		}
	})
	return p
}

// tailContains waits until the log tail of p contains a line equal to line.
func tailContains(t *testing.T, p *Process, line string) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, func() error {
		lines, err := p.LogTail(1000)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(lines, line) {
			return nil
		}
		return fmt.Errorf("waiting for log line %q; the log has %q", line, lines)
	})
}

// processGone reports whether pid no longer runs: it does not exist or is a
// zombie waiting for PID 1 to reap it.
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	state, _, ok := parseStat(b)
	return ok && (state == 'Z' || state == 'X')
}

// readPIDs reads whitespace-separated pids from a file written by a child.
func readPIDs(t *testing.T, path string) []int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("bad pid %q in %s", f, path)
		}
		pids = append(pids, pid)
	}
	return pids
}

// waitPIDs waits until path holds at least n pids and returns them.
func waitPIDs(t *testing.T, path string, n int) []int {
	t.Helper()
	var pids []int
	waitFor(t, 10*time.Second, "pid file "+path, func() bool {
		pids = readPIDs(t, path)
		return len(pids) >= n
	})
	return pids
}

// recorder is a slog.Handler that keeps the records it gets.
type recorder struct {
	mu    *sync.Mutex
	recs  *[]slog.Record
	attrs []slog.Attr
}

func newRecorder() *recorder {
	return &recorder{mu: new(sync.Mutex), recs: new([]slog.Record)}
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	rec = rec.Clone()
	rec.AddAttrs(r.attrs...)
	r.mu.Lock()
	defer r.mu.Unlock()
	*r.recs = append(*r.recs, rec)
	return nil
}

func (r *recorder) WithAttrs(as []slog.Attr) slog.Handler {
	c := *r
	c.attrs = append(append([]slog.Attr(nil), r.attrs...), as...)
	return &c
}

func (r *recorder) WithGroup(string) slog.Handler { return r }

// durations returns the duration attribute key of every record with msg.
func (r *recorder) durations(msg, key string) []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []time.Duration
	for _, rec := range *r.recs {
		if rec.Message != msg {
			continue
		}
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == key {
				out = append(out, a.Value.Duration())
			}
			return true
		})
	}
	return out
}

func slogNew(h slog.Handler) *slog.Logger { return slog.New(h) }
