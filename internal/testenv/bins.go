// Package testenv starts real servers (redis-server, MinIO, nsqd, nsqlookupd,
// Prometheus) for tests, each on a random loopback port with its data in
// t.TempDir(), stopped by t.Cleanup. Binaries come from the repository's .bin/ folder
// (built by `make deps`), then from PATH. With CI=true a missing binary fails
// the test; elsewhere the test is skipped with the command that installs it.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// binary finds an executable by name in $WHARF_BIN_DIR, the repository's .bin/, then PATH.
func binary(t testing.TB, name, install string) string {
	t.Helper()
	var dirs []string
	if d := os.Getenv("WHARF_BIN_DIR"); d != "" {
		dirs = append(dirs, d)
	}
	if root := repoRoot(); root != "" {
		dirs = append(dirs, filepath.Join(root, ".bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	msg := name + " not found in .bin/ or PATH; install it with: " + install
	if isCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func isCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v != "" && v != "0" && v != "false"
}

// repoRoot walks up from the working directory to the folder holding Wharf's go.mod.
func repoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/wharfhq/wharf\n") {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
