package release

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// installed returns an env with versions of shop installed in order.
func installed(t *testing.T, opts Options, versions ...string) env {
	t.Helper()
	e := newEnv(t, opts)
	for _, v := range versions {
		b := shopBundle(t, v)
		srv := newServer(t, serve(b.data))
		if _, err := e.m.Install(t.Context(), "shop", v, b.sum, srv.source()); err != nil {
			t.Fatalf("Install %s: %v", v, err)
		}
	}
	return e
}

func TestActivateSwitchesCurrent(t *testing.T) {
	e := installed(t, Options{}, "v1", "v2")
	if v, ok := e.m.Current("shop"); ok {
		t.Fatalf("Current before any Activate: %q", v)
	}
	prev, err := e.m.Activate("shop", "v1")
	if err != nil || prev != "" {
		t.Fatalf("Activate v1: %q %v", prev, err)
	}
	prev, err = e.m.Activate("shop", "v2")
	if err != nil || prev != "v1" {
		t.Fatalf("Activate v2: %q %v", prev, err)
	}
	link := filepath.Join(e.m.appDir("shop"), "current")
	if target, err := os.Readlink(link); err != nil || target != filepath.Join("releases", "v2") {
		t.Fatalf("current -> %q, %v", target, err)
	}
	if got, err := os.ReadFile(filepath.Join(link, "bin", "server")); err != nil || string(got) != "#!/bin/sh\necho v2\n" {
		t.Fatalf("through current: %q %v", got, err)
	}
	if v, ok := e.m.Current("shop"); !ok || v != "v2" {
		t.Fatalf("Current: %q %v", v, ok)
	}
	if prev, err := e.m.Activate("shop", "v2"); err != nil || prev != "v2" {
		t.Fatalf("Activate v2 again: %q %v", prev, err)
	}
	e.clean(t)
}

func TestActivateMissingLeavesCurrent(t *testing.T) {
	e := installed(t, Options{}, "v1")
	if _, err := e.m.Activate("shop", "v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Activate("shop", "v9"); !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("Activate v9: %v", err)
	}
	half := e.m.releaseDir("shop", "v2") // unpacked, no marker
	os.MkdirAll(half, 0o755)
	os.WriteFile(filepath.Join(half, "wharf.yaml"), []byte(shopManifest), 0o644)
	if _, err := e.m.Activate("shop", "v2"); !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("Activate of a release without marker: %v", err)
	}
	if _, err := e.m.Activate("other", "v1"); !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("Activate of an unknown app: %v", err)
	}
	if v, ok := e.m.Current("shop"); !ok || v != "v1" {
		t.Fatalf("current changed to %q %v", v, ok)
	}
	e.clean(t)
}

func TestVerifyRejectsBadMarkers(t *testing.T) {
	e := installed(t, Options{}, "v1")
	mk := filepath.Join(e.m.releaseDir("shop", "v1"), MarkerName)
	good, _ := os.ReadFile(mk)
	for name, data := range map[string]string{
		"empty":         "",
		"garbage":       "{",
		"other version": `{"app":"shop","version":"v2","sha256":"` + fmt.Sprintf("%064x", 1) + `","size":1,"installed_at":"2025-01-01T00:00:00Z"}`,
		"bad sha":       `{"app":"shop","version":"v1","sha256":"xyz","size":1,"installed_at":"2025-01-01T00:00:00Z"}`,
		"no time":       `{"app":"shop","version":"v1","sha256":"` + fmt.Sprintf("%064x", 1) + `","size":1}`,
	} {
		os.WriteFile(mk, []byte(data), 0o644)
		if _, err := e.m.Verify("shop", "v1"); !errors.Is(err, ErrNotInstalled) {
			t.Errorf("%s: Verify = %v", name, err)
		}
	}
	os.Remove(mk)
	os.Symlink("wharf.yaml", mk)
	if _, err := e.m.Verify("shop", "v1"); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("marker as a link: Verify = %v", err)
	}
	os.Remove(mk)
	os.WriteFile(mk, good, 0o644)
	if _, err := e.m.Verify("shop", "v1"); err != nil {
		t.Fatal(err)
	}
}

func TestListNewestFirst(t *testing.T) {
	e := installed(t, Options{}, "v1", "v3", "v2")
	rels, err := e.m.List("shop")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rels {
		got = append(got, r.Version)
	}
	if !slices.Equal(got, []string{"v2", "v3", "v1"}) {
		t.Fatalf("List: %v", got)
	}
	if rels, err := e.m.List("nothing"); err != nil || len(rels) != 0 {
		t.Fatalf("List of an unknown app: %v %v", rels, err)
	}
}

func TestPruneKeepsNewestCurrentAndProtected(t *testing.T) {
	e := installed(t, Options{Keep: 3}, "v1", "v2", "v3", "v4", "v5", "v6", "v7")
	if _, err := e.m.Activate("shop", "v1"); err != nil {
		t.Fatal(err)
	}
	rel := e.m.releasesDir("shop")
	// Leftovers: a release dir without a marker, a stale and a fresh
	// unpack dir, a stale download file, a release moved aside.
	old := time.Now().Add(-2 * StaleAge)
	mk := func(p string, dir, stale bool) {
		if dir {
			os.MkdirAll(filepath.Join(p, "x"), 0o755)
		} else {
			os.WriteFile(p, []byte("x"), 0o644)
		}
		if stale {
			os.Chtimes(p, old, old)
		}
	}
	mk(filepath.Join(rel, "v0"), true, false)
	mk(filepath.Join(rel, ".tmp-v8-stale"), true, true)
	mk(filepath.Join(rel, ".tmp-v9-fresh"), true, false)
	mk(filepath.Join(rel, ".tmp-rm-v0-abc"), true, false)
	mk(filepath.Join(e.m.appDir("shop"), ".tmp-shop.v8-1.bundle"), false, true)
	removed, err := e.m.Prune("shop", "v2", "bogus/../x")
	if err != nil {
		t.Fatal(err)
	}
	if !sameSet(removed, []string{"v3", "v4", "v0"}) {
		t.Fatalf("removed %v, want v3 v4 v0", removed)
	}
	want := []string{"v1", "v2", "v5", "v6", "v7", ".tmp-v9-fresh"}
	if got := e.releases(t, "shop"); !sameSet(got, want) {
		t.Fatalf("releases/ holds %v, want %v", got, want)
	}
	if _, err := os.Lstat(filepath.Join(e.m.appDir("shop"), ".tmp-shop.v8-1.bundle")); !os.IsNotExist(err) {
		t.Fatalf("stale download file kept: %v", err)
	}
	if v, ok := e.m.Current("shop"); !ok || v != "v1" {
		t.Fatalf("current: %q %v", v, ok)
	}
	for _, v := range []string{"v1", "v2", "v5", "v6", "v7"} {
		if _, err := e.m.Verify("shop", v); err != nil {
			t.Fatalf("Verify %s after prune: %v", v, err)
		}
	}
	// Nothing more to do: a second prune removes nothing.
	if removed, err := e.m.Prune("shop", "v2"); err != nil || len(removed) != 0 {
		t.Fatalf("second Prune: %v %v", removed, err)
	}
	// Without protection v2 goes; current v1 stays.
	if removed, err := e.m.Prune("shop"); err != nil || !slices.Equal(removed, []string{"v2"}) {
		t.Fatalf("third Prune: %v %v", removed, err)
	}
}

func TestPruneSparesInstallInProgress(t *testing.T) {
	e := installed(t, Options{Keep: 1}, "v1")
	tmp := filepath.Join(e.m.releasesDir("shop"), ".tmp-v2-busy")
	os.Mkdir(tmp, 0o755)
	old := time.Now().Add(-2 * StaleAge)
	os.Chtimes(tmp, old, old)
	done := e.m.track(tmp)
	if _, err := e.m.Prune("shop"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); err != nil {
		t.Fatalf("an unpack dir in use was removed: %v", err)
	}
	done()
	e.m.Prune("shop")
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("a stale unpack dir was kept: %v", err)
	}
}
