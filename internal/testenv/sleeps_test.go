package testenv

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// allowedSleeps are the *_test.go files outside gateway/ that may call
// time.Sleep, how many times, and why. A sleep that stands in for
// synchronisation (waiting for something to have happened) is not allowed:
// wait on a condition (Eventually) or a channel instead. gateway/ has its
// own owner in issue 12 and is not checked here yet.
func allowedSleeps() map[string]struct {
	n   int
	why string
} {
	return map[string]struct {
		n   int
		why string
	}{
		"cmd/wharf/deploy_e2e_test.go":          {1, "the test app's STARTUP_DELAY: an app that is slow to start is the behaviour under test"},
		"cmd/wharf/rooms_e2e_test.go":           {1, "outlasts the 1 s step interval of a paused switch to show it does not step (a timer under test, absence of an event)"},
		"runner/agent/release/install_test.go":  {1, "the download server holds its answer while concurrent installs of the same version pile up behind the first (nothing outside shows them waiting)"},
		"functions/deploy/lease_test.go":        {2, "lets a lease TTL (buntdb/Redis expiry, wall clock) run out: the timer is what is tested"},
		"functions/deploy/drive_test.go":        {1, "after late events of an older task, a window in which a wrong state change would show (absence of an event)"},
		"functions/artifacts/minio_test.go":     {1, "lets an upload's parts reach MinIO before the client is cut off (the partial upload is what is tested)"},
		"functions/artifacts/artifacts_test.go": {1, "lets half an upload's body reach the server before the client cuts it off (the abandoned upload is what is tested)"},
		"internal/bus/consumer_test.go":         {2, "a handler that holds its message until others run alongside; a window in which a wrong redelivery would show (absence of an event)"},
	}
}

// TestNoNewSleepsInTests fails when a *_test.go file outside gateway/ calls
// time.Sleep more often than allowedSleeps says.
func TestNoNewSleepsInTests(t *testing.T) {
	t.Parallel()
	root := repoRoot()
	if root == "" {
		t.Fatal("cannot find the repository root (go.mod of github.com/wharfhq/wharf)")
	}
	reSleep := regexp.MustCompile(`\btime\.Sleep\(`)
	allowed := allowedSleeps()
	found := map[string]int{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel == "gateway" || strings.HasPrefix(d.Name(), ".") && rel != "." || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if n := len(reSleep.FindAll(b, -1)); n > 0 {
			found[filepath.ToSlash(rel)] = n
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for file, n := range found {
		if a := allowed[file]; n > a.n {
			t.Errorf("%s calls time.Sleep %d times, %d allowed: wait on a condition (testenv.Eventually) or a channel instead, "+
				"or add the file to allowedSleeps with the reason a sleep is what the test needs (e.g. a timer under test)", file, n, a.n)
		}
	}
	for file, a := range allowed {
		if found[file] < a.n {
			t.Errorf("%s now calls time.Sleep %d times: lower its allowance (%d) in allowedSleeps", file, found[file], a.n)
		}
	}
}
