package supervise

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestStartWritesCombinedLog(t *testing.T) {
	t.Parallel()
	spec := testSpec(t, "web", `echo hello; echo oops >&2; echo "foo=$FOO"; exec sleep 30`)
	spec.Env = []string{"FOO=bar"}
	p := startT(t, spec, Options{})
	tailContains(t, p, "foo=bar")
	lines, err := p.LogTail(10)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(lines) != "[hello oops foo=bar]" {
		t.Fatalf("tail %q", lines)
	}
	if p.LogPath() != filepath.Join(spec.LogDir, "web.log") {
		t.Fatalf("log path %s", p.LogPath())
	}
	b, err := os.ReadFile(p.LogPath())
	if err != nil || string(b) != "hello\noops\nfoo=bar\n" {
		t.Fatalf("log file %q, %v", b, err)
	}
	st := p.Status()
	if !st.Running() || st.State != StateRunning || st.PID <= 0 || st.Restarts != 0 || st.StartedAt.IsZero() || st.Name != "web" {
		t.Fatalf("status %+v", st)
	}
	if pgid, err := syscall.Getpgid(st.PID); err != nil || pgid != st.PID {
		t.Fatalf("child pgid %d (%v), want its own group %d", pgid, err, st.PID)
	}
}

func TestCrashRestartsWithGrowingBackoff(t *testing.T) {
	t.Parallel()
	stamps := filepath.Join(t.TempDir(), "stamps")
	spec := testSpec(t, "crasher", `date +%s%N >> "$STAMPS"; echo run; exit 3`)
	spec.Env = []string{"STAMPS=" + stamps}
	spec.Backoff = BackoffOptions{Min: 40 * time.Millisecond, Max: 320 * time.Millisecond, Factor: 2, ResetAfter: 10 * time.Second}
	rec := newRecorder()
	p := startT(t, spec, Options{Logger: slogNew(rec)})
	waitFor(t, 15*time.Second, "5 restarts", func() bool { return p.Status().Restarts >= 5 })

	st := p.Status()
	if st.LastExitCode != 3 || st.LastErr == nil || !strings.Contains(st.LastErr.Error(), "exit status 3") || st.ExitedAt.IsZero() {
		t.Fatalf("status %+v", st)
	}
	delays := rec.durations("restarting after back-off", "delay")
	want := []time.Duration{40, 80, 160, 320, 320}
	for i, w := range want {
		if i >= len(delays) || delays[i] != w*time.Millisecond {
			t.Fatalf("delays %v, want prefix %v ms", delays, want)
		}
	}
	// Start times: each gap is at least the back-off delay before it.
	var starts []int64
	for _, f := range strings.Fields(readFile(t, stamps)) {
		ns, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		starts = append(starts, ns)
	}
	if len(starts) < 5 {
		t.Fatalf("%d starts", len(starts))
	}
	for i := 1; i < 5; i++ {
		gap := time.Duration(starts[i] - starts[i-1])
		if gap < delays[i-1]-5*time.Millisecond {
			t.Errorf("start %d came %s after the previous one, back-off was %s", i, gap, delays[i-1])
		}
	}
	lines, _ := p.LogTail(100)
	if len(lines) < 5 {
		t.Fatalf("log %q", lines)
	}
}

func TestBackoffResetsAfterStableRun(t *testing.T) {
	t.Parallel()
	spec := testSpec(t, "flaky", `sleep 0.15; exit 1`)
	spec.Backoff = BackoffOptions{Min: 30 * time.Millisecond, Max: 5 * time.Second, Factor: 4, ResetAfter: 100 * time.Millisecond}
	rec := newRecorder()
	p := startT(t, spec, Options{Logger: slogNew(rec)})
	waitFor(t, 15*time.Second, "3 restarts", func() bool { return p.Status().Restarts >= 3 })
	for _, d := range rec.durations("restarting after back-off", "delay") {
		if d != 30*time.Millisecond {
			t.Fatalf("delay %s after a stable run, want Min", d)
		}
	}
}

func TestStopWithHandledSignal(t *testing.T) {
	t.Parallel()
	spec := testSpec(t, "graceful", `trap 'echo got-term; exit 0' TERM; echo ready; while :; do sleep 0.05; done`)
	spec.StopGrace = 10 * time.Second
	p := startT(t, spec, Options{})
	tailContains(t, p, "ready")
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := p.Status()
	if st.State != StateStopped || st.PID != 0 || st.LastExitCode != 0 || st.LastErr != nil {
		t.Fatalf("status %+v", st)
	}
	lines, _ := p.LogTail(1)
	if fmt.Sprint(lines) != "[got-term]" {
		t.Fatalf("tail %q", lines)
	}
}

func TestStopKillsChildIgnoringSignalAfterGrace(t *testing.T) {
	t.Parallel()
	spec := testSpec(t, "stubborn", `trap '' TERM; echo ready; while :; do sleep 0.05; done`)
	spec.StopGrace = 300 * time.Millisecond
	p := startT(t, spec, Options{})
	tailContains(t, p, "ready")
	pid := p.Status().PID
	begin := time.Now()
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took < spec.StopGrace {
		t.Fatalf("stopped after %s, before the grace of %s", took, spec.StopGrace)
	}
	st := p.Status()
	if st.LastExitCode != -1 || st.LastErr == nil || !strings.Contains(st.LastErr.Error(), "killed") {
		t.Fatalf("status %+v", st)
	}
	if !processGone(pid) {
		t.Fatalf("pid %d still running", pid)
	}
}

func TestStopReachesGrandchildren(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pids")
	// The second grandchild ignores SIGTERM: only SIGKILL to the group ends it.
	spec := testSpec(t, "tree", `sleep 300 & echo $! >> "$PIDS"; (trap '' TERM; echo ignoring; exec sleep 300) & echo $! >> "$PIDS"; wait`)
	spec.Env = []string{"PIDS=" + pidFile}
	spec.StopGrace = 400 * time.Millisecond
	p := startT(t, spec, Options{})
	pids := waitPIDs(t, pidFile, 2)
	tailContains(t, p, "ignoring") // the trap is set
	begin := time.Now()
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took < spec.StopGrace {
		t.Fatalf("stopped after %s: did not wait for the TERM-ignoring grandchild", took)
	}
	for _, pid := range pids {
		if !processGone(pid) {
			t.Errorf("grandchild %d survived Stop", pid)
		}
	}
}

func TestCrashEndsWhatTheChildLeftBehind(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pids")
	spec := testSpec(t, "leaky", `sleep 300 & echo $! >> "$PIDS"; exit 1`)
	spec.Env = []string{"PIDS=" + pidFile}
	p := startT(t, spec, Options{})
	waitFor(t, 10*time.Second, "2 restarts", func() bool { return p.Status().Restarts >= 2 })
	first := waitPIDs(t, pidFile, 1)[0]
	waitFor(t, 10*time.Second, "orphan of the first run gone", func() bool { return processGone(first) })
}

func TestRotationAndTailAcrossBoundary(t *testing.T) {
	t.Parallel()
	spec := testSpec(t, "chatty", `i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i+1)); done; exec sleep 30`)
	spec.LogMaxBytes = 4096
	spec.LogKeep = 2
	p := startT(t, spec, Options{})
	tailContains(t, p, "line 1999")
	for name, size := range logFiles(t, p.LogPath(), 2) {
		if size > 4096 {
			t.Errorf("%s has %d bytes", name, size)
		}
	}
	// A file is rotated before a write that would take it past the limit,
	// so how full the files are depends on how the child's output was cut
	// into writes: the tail of 600 lines is as many as the kept files hold
	// (a loaded CI run once had 511), and it must cross from the current
	// file into the rotated ones, in order, ending with the last line.
	held, inCurrent := 0, 0
	for i := 0; i <= 2; i++ {
		name := p.LogPath()
		if i > 0 {
			name = rotatedName(name, i)
		}
		b, err := os.ReadFile(name)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		n := bytes.Count(b, []byte{'\n'})
		held += n
		if i == 0 {
			inCurrent = n
		}
	}
	lines, err := p.LogTail(600)
	if err != nil {
		t.Fatal(err)
	}
	want := min(600, held)
	if len(lines) != want || want <= inCurrent {
		t.Fatalf("tail of %d lines, the files hold %d (%d in the current one): want %d, across the rotation", len(lines), held, inCurrent, want)
	}
	for i, l := range lines {
		if want := fmt.Sprintf("line %d", 2000-len(lines)+i); l != want {
			t.Fatalf("line %d = %q, want %q", i, l, want)
		}
	}
}

func TestStopIsIdempotentAndConcurrent(t *testing.T) {
	t.Parallel()
	p := startT(t, testSpec(t, "sleeper", `echo up; exec sleep 30`), Options{})
	tailContains(t, p, "up")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errs <- p.Stop(context.Background()) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-p.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := p.Status(); st.State != StateStopped || st.Running() {
		t.Fatalf("status %+v", st)
	}
	if lines, err := p.LogTail(5); err != nil || fmt.Sprint(lines) != "[up]" {
		t.Fatalf("tail after stop %q, %v", lines, err)
	}
}

func TestStopContextExpires(t *testing.T) {
	t.Parallel()
	spec := testSpec(t, "slow", `trap '' TERM; echo ready; while :; do sleep 0.05; done`)
	spec.StopGrace = time.Second
	p := startT(t, spec, Options{})
	tailContains(t, p, "ready")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := p.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop = %v, want deadline exceeded", err)
	}
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestContextCancelStops(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	p, err := Start(ctx, testSpec(t, "scoped", `echo up; exec sleep 30`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	tailContains(t, p, "up")
	pid := p.Status().PID
	cancel()
	select {
	case <-p.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("not stopped after ctx cancel")
	}
	if st := p.Status(); st.State != StateStopped || !processGone(pid) {
		t.Fatalf("status %+v, pid gone %v", st, processGone(pid))
	}
	if _, err := Start(ctx, testSpec(t, "late", "true"), Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Start with cancelled ctx: %v", err)
	}
}

func TestRestartFailureIsRetried(t *testing.T) {
	t.Parallel()
	appDir := filepath.Join(t.TempDir(), "app")
	if err := os.Mkdir(appDir, 0o755); err != nil {
		t.Fatal(err)
	}
	spec := testSpec(t, "vanishing", `exit 1`)
	spec.Dir = appDir
	p := startT(t, spec, Options{})
	if err := os.Remove(appDir); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "failed restarts", func() bool {
		st := p.Status()
		return st.Restarts >= 3 && st.LastErr != nil && strings.Contains(st.LastErr.Error(), "cannot start")
	})
	if st := p.Status(); st.LastExitCode != -1 || st.PID != 0 {
		t.Fatalf("status %+v", st)
	}
}

func TestStartRejectsBadSpecs(t *testing.T) {
	t.Parallel()
	ok := testSpec(t, "ok", "true")
	for name, mod := range map[string]func(*Spec){
		"empty name":    func(s *Spec) { s.Name = "" },
		"path name":     func(s *Spec) { s.Name = "../x" },
		"dot dot":       func(s *Spec) { s.Name = ".." },
		"empty command": func(s *Spec) { s.Command = "  " },
		"no log dir":    func(s *Spec) { s.LogDir = "" },
		"bad env":       func(s *Spec) { s.Env = []string{"NOEQUALS"} },
		"neg grace":     func(s *Spec) { s.StopGrace = -time.Second },
		"neg keep":      func(s *Spec) { s.LogKeep = -1 },
		"neg size":      func(s *Spec) { s.LogMaxBytes = -1 },
		"bad backoff":   func(s *Spec) { s.Backoff = BackoffOptions{Min: time.Second, Max: time.Millisecond} },
		"missing dir":   func(s *Spec) { s.Dir = filepath.Join(s.LogDir, "nope") },
	} {
		s := ok
		mod(&s)
		if p, err := Start(context.Background(), s, Options{}); err == nil {
			_ = p.Stop(context.Background())
			t.Errorf("%s: accepted", name)
		} else if !strings.HasPrefix(err.Error(), "cannot ") {
			t.Errorf("%s: error %q", name, err)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
