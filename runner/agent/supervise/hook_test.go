package supervise

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHookExitCodeAndTail(t *testing.T) {
	t.Parallel()
	code, tail, err := RunHook(context.Background(), HookSpec{
		Name: "web.pre_start", Command: `echo one; echo two >&2; exit 7`,
	}, Options{})
	if code != 7 || err == nil || !strings.Contains(err.Error(), "exit status 7") {
		t.Fatalf("RunHook = %d, %v", code, err)
	}
	if fmt.Sprint(tail) != "[one two]" {
		t.Fatalf("tail %q", tail)
	}
}

func TestHookSuccessLogsToFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := HookSpec{
		Name: "web.post_start", Command: `for i in 1 2 3 4 5; do echo "line$i"; done`,
		Dir: dir, LogDir: filepath.Join(dir, "logs"), TailLines: 2,
	}
	for range 2 {
		code, tail, err := RunHook(context.Background(), spec, Options{})
		if code != 0 || err != nil {
			t.Fatalf("RunHook = %d, %v", code, err)
		}
		if fmt.Sprint(tail) != "[line4 line5]" {
			t.Fatalf("tail %q", tail)
		}
	}
	b, err := os.ReadFile(filepath.Join(spec.LogDir, "web.post_start.log"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n != 10 {
		t.Fatalf("log has %d lines, want 10 (two runs appended)", n)
	}
}

func TestHookTimeoutKillsGroup(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pids")
	begin := time.Now()
	code, tail, err := RunHook(context.Background(), HookSpec{
		Name:    "slow",
		Command: `trap '' TERM; sleep 300 & echo $! > "$PIDS"; echo started; wait`,
		Env:     []string{"PIDS=" + pidFile},
		Timeout: 300 * time.Millisecond,
	}, Options{})
	if !errors.Is(err, context.DeadlineExceeded) || code != -1 || !strings.Contains(err.Error(), "timed out after 300ms") {
		t.Fatalf("RunHook = %d, %v", code, err)
	}
	if took := time.Since(begin); took < 300*time.Millisecond {
		t.Fatalf("returned after %s, before the timeout", took)
	}
	if fmt.Sprint(tail) != "[started]" {
		t.Fatalf("tail %q", tail)
	}
	pid := readPIDs(t, pidFile)[0]
	waitFor(t, 5*time.Second, "grandchild gone", func() bool { return processGone(pid) })
}

func TestHookContextCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	code, _, err := RunHook(ctx, HookSpec{Name: "cancelled", Command: "exec sleep 300"}, Options{})
	if !errors.Is(err, context.Canceled) || code != -1 {
		t.Fatalf("RunHook = %d, %v", code, err)
	}
}

func TestHookLeftoversEnded(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pids")
	code, _, err := RunHook(context.Background(), HookSpec{
		Name: "daemonizer", Command: `sleep 300 & echo $! > "$PIDS"; exit 0`, Env: []string{"PIDS=" + pidFile},
	}, Options{})
	if code != 0 || err != nil {
		t.Fatalf("RunHook = %d, %v", code, err)
	}
	pid := readPIDs(t, pidFile)[0]
	waitFor(t, 5*time.Second, "leftover gone", func() bool { return processGone(pid) })
}

func TestHookRejectsBadSpecs(t *testing.T) {
	t.Parallel()
	for _, s := range []HookSpec{
		{Name: "", Command: "true"},
		{Name: "a/b", Command: "true"},
		{Name: "x", Command: ""},
		{Name: "x", Command: "true", Timeout: -1},
		{Name: "x", Command: "true", Env: []string{"=v"}},
		{Name: "x", Command: "true", Dir: "/nonexistent/dir"},
	} {
		if code, _, err := RunHook(context.Background(), s, Options{}); err == nil || code != -1 {
			t.Errorf("%+v: %d, %v", s, code, err)
		}
	}
}

// Not parallel: it sets an environment variable of the test process.
func TestChildEnvironmentIsMinimal(t *testing.T) {
	t.Setenv("WHARF_SUPERVISE_SECRET", "leak")
	t.Setenv("HOME", "/home/agent")
	_, tail, err := RunHook(context.Background(), HookSpec{
		Name:    "env",
		Command: `echo "secret=${WHARF_SUPERVISE_SECRET:-none} home=$HOME foo=$FOO path=${PATH:+set}"`,
		Env:     []string{"FOO=1", "FOO=2", "HOME=/srv/app"},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(tail) != "[secret=none home=/srv/app foo=2 path=set]" {
		t.Fatalf("env %q", tail)
	}
}
