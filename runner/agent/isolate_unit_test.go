package agent

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/testenv"
)

func TestRunAsOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		runAs string
		mode  isoMode
		err   string
	}{
		{runAs: RunAsSelf, mode: isoSelf},
		{runAs: "root", err: "is root"},
		{runAs: "0", err: "is root"},
		{runAs: "0:0", err: "is root"},
		{runAs: "no-such-user-wharf", err: "cannot find user"},
		{runAs: "12:x", err: "uid:gid"},
		{runAs: "nobody", mode: isoFixed},
		{runAs: "4242:4343", mode: isoFixed},
	} {
		iso, err := newIsolation(Options{RunAs: tc.runAs})
		if tc.mode == isoFixed && os.Geteuid() != 0 {
			tc.err = "needs the agent to run as root"
		}
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("run_as %q: %v, want an error with %q", tc.runAs, err, tc.err)
			}
		case err != nil || iso.mode != tc.mode:
			t.Errorf("run_as %q: mode %d, %v; want mode %d", tc.runAs, iso.mode, err, tc.mode)
		}
	}
	if iso, err := newIsolation(Options{RunAs: "4242:4343"}); err == nil && (iso.uid != 4242 || iso.gid != 4343) {
		t.Errorf("uid:gid: %+v", iso)
	}
	if _, err := newIsolation(Options{AppUIDBase: 1 << 31, AppUIDCount: 2}); os.Geteuid() == 0 && err == nil {
		t.Error("a uid range past 2^31 was accepted")
	}
}

// TestRunAsSelfWarns: deployed code running as Wharf's own user is
// announced with a WARN at start.
func TestRunAsSelfWarns(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	iso, err := newIsolation(Options{RunAs: RunAsSelf})
	if err != nil {
		t.Fatal(err)
	}
	iso.announce(slog.New(slog.NewTextHandler(&buf, nil)), RunAsSelf)
	if l := buf.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "DEPLOYED CODE RUNS AS WHARF'S OWN USER") {
		t.Fatalf("log: %s", l)
	}
}

func TestIDsMapped(t *testing.T) {
	t.Parallel()
	f := t.TempDir() + "/uid_map"
	if err := os.WriteFile(f, []byte("         0     100000      65536\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if !idsMapped(f, 1000, 1000) || idsMapped(f, 70000, 10000) || idsMapped(f, 65000, 1000) {
		t.Error("a 65536-id namespace: wrong answers")
	}
	if !idsMapped(f+".missing", 70000, 10000) {
		t.Error("no map file: every id is mapped")
	}
}

// TestUIDsSurviveALostStateFile: with the state file gone, an app gets
// back the uid that owns its releases, and no other app gets that uid.
func TestUIDsSurviveALostStateFile(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	h := newHarness(t)
	opts := h.options()
	opts.AppUIDBase, opts.AppUIDCount = 3000000, 100
	rel := filepath.Join(h.dir, "apps", "alpha", "releases", "1.0.0")
	if err := os.MkdirAll(rel, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(rel, 3000000, 3000000); err != nil {
		t.Fatal(err)
	}
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	beta, err := a.credential("beta")
	if err != nil {
		t.Fatal(err)
	}
	alpha, err := a.credential("alpha")
	if err != nil {
		t.Fatal(err)
	}
	if alpha.Uid != 3000000 || beta.Uid == 3000000 || beta.Uid < 3000000 || beta.Uid >= 3000100 {
		t.Fatalf("alpha got uid %d (want 3000000, the owner of its release), beta %d", alpha.Uid, beta.Uid)
	}
	b, err := os.ReadFile(filepath.Join(h.dir, StateFileName))
	if err != nil || !strings.Contains(string(b), `"uids":{"alpha":3000000,"beta":`) {
		t.Fatalf("state file: %s, %v", b, err)
	}
}

// An isolating agent whose data dir sits under a directory other users
// cannot cross (a 0700 home, as `make run` as root in /root gives) keeps
// its releases in a reachable fallback root instead of failing to start;
// a configured apps dir that cannot be reached is an error naming it.
func TestUnreachableDataDirMovesTheReleases(t *testing.T) {
	testenv.RequireRoot(t)
	home := filepath.Join(testenv.CrossableDir(t), "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	fallback := filepath.Join(filepath.Dir(home), "apps-root")
	iso := isolation{mode: isoPerApp, base: DefaultAppUIDBase, count: DefaultAppUIDCount, fallback: fallback}
	data := filepath.Join(home, "data")
	root, err := iso.prepareDirs(data, "")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(root) != fallback {
		t.Fatalf("releases in %s, want under %s", root, fallback)
	}
	again, err := iso.prepareDirs(data, "")
	if err != nil || again != root {
		t.Fatalf("a restart moved the releases: %s then %s (%v)", root, again, err)
	}
	for _, d := range []string{fallback, root} {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != 0o711 {
			t.Fatalf("%s: %v %v, want mode 0711", d, fi.Mode(), err)
		}
	}
	if _, err := iso.prepareDirs(data, filepath.Join(home, "apps")); err == nil || !strings.Contains(err.Error(), home) {
		t.Fatalf("an unreachable agent.apps_dir must be refused naming %s: %v", home, err)
	}
	// Reachable data dirs keep their releases inside.
	// (The data dir itself may be 0700 before the agent first runs.)
	open := filepath.Join(filepath.Dir(home), "open", "data")
	if err := os.MkdirAll(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(open), 0o755); err != nil {
		t.Fatal(err)
	}
	if root, err := iso.prepareDirs(open, ""); err != nil || root != filepath.Join(open, appsDirName) {
		t.Fatalf("got %s %v", root, err)
	}
}
