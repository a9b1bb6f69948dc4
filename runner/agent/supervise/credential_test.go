package supervise

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

// TestCredential: a hook and a process given a Credential run as that
// uid and gid with no supplementary group (even when the Credential
// lists some), and their log file stays the caller's.
func TestCredential(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	cred := &syscall.Credential{Uid: 4242, Gid: 4343, Groups: []uint32{0, 27}}
	dir := t.TempDir()
	if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	logDir := t.TempDir()
	_, tail, err := RunHook(context.Background(), HookSpec{Name: "h", Command: "id -u; id -g; id -G", Dir: dir, LogDir: logDir, Credential: cred}, Options{})
	if err != nil {
		t.Fatalf("hook: %v %q", err, tail)
	}
	if got := strings.Join(tail, " "); got != "4242 4343 4343" {
		t.Fatalf("hook ran as %q, want uid 4242, gid 4343, groups only 4343", got)
	}
	fi, err := os.Stat(filepath.Join(logDir, "h.log"))
	if err != nil || fi.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Fatalf("hook log: %v", err)
	}

	spec := testSpec(t, "p", "id -u; id -G; exec sleep 60")
	spec.Dir, spec.Credential = dir, cred
	p := startT(t, spec, Options{})
	waitFor(t, 10*time.Second, "the process's ids in its log", func() bool {
		lines, _ := p.LogTail(2)
		return strings.Join(lines, " ") == "4242 4343"
	})
}
