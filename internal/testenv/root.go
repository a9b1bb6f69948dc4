package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// RequireRoot stops a test that needs root (to run processes as other
// users) when it does not run as root: with CI=true it fails, elsewhere
// it is skipped with the reason.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	msg := "this test needs root (it runs deployed apps as other users); run it as root (sudo -E go test ...)"
	if isCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// CrossableDir returns a new t.TempDir() whose parents that the test
// created (the test's temporary root, 0700) other users may cross but not
// list (0711), as a deploy agent that runs apps as their own users needs
// for its data dir.
func CrossableDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
