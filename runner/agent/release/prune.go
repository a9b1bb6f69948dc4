package release

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Verify checks that version of app is present: its directory holds a
// valid marker for it and a manifest naming app. An agent restarted in the
// middle of a task uses it to tell a finished install from a half-done one
// (which is ErrNotInstalled and is simply installed again).
func (m *Manager) Verify(app, version string) (Release, error) {
	if err := checkNames(app, version); err != nil {
		return Release{}, fmt.Errorf("cannot verify: %w", err)
	}
	unlock := m.appLock(app)
	defer unlock()
	return m.load(app, version)
}

// List returns app's present releases, newest first by installation time.
// Directories without a valid marker are left out.
func (m *Manager) List(app string) ([]Release, error) {
	if err := checkApp(app); err != nil {
		return nil, fmt.Errorf("cannot list releases: %w", err)
	}
	unlock := m.appLock(app)
	defer unlock()
	rels, _, err := m.scan(app)
	return rels, err
}

// scan reads releases/: present releases newest first, and the versions
// of directories without a valid marker.
func (m *Manager) scan(app string) (rels []Release, invalid []string, err error) {
	ents, err := os.ReadDir(m.releasesDir(app))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("cannot list releases of %s: %w", app, err)
	}
	for _, e := range ents {
		v := e.Name()
		if !e.IsDir() || checkVersion(v) != nil {
			continue // temporary directories start with '.', versions cannot
		}
		r, err := m.load(app, v)
		if err != nil {
			if errors.Is(err, fs.ErrPermission) {
				continue // unreadable, not known to be invalid: leave it
			}
			invalid = append(invalid, v)
			continue
		}
		rels = append(rels, r)
	}
	slices.SortFunc(rels, func(a, b Release) int {
		if c := b.InstalledAt.Compare(a.InstalledAt); c != 0 {
			return c
		}
		return cmp.Compare(b.Version, a.Version)
	})
	return rels, invalid, nil
}

// Prune removes app's releases beyond the newest Options.Keep, and
// directories under releases/ without a valid marker. It never removes the
// current release or a version in protect (such as the rollback target);
// those are kept on top of Keep. It also removes temporary files and
// directories left by interrupted installs once they are StaleAge old.
// Each release is first renamed aside, so it disappears at once even if
// deleting its files fails midway. It returns the versions removed.
func (m *Manager) Prune(app string, protect ...string) (removed []string, err error) {
	if err := checkApp(app); err != nil {
		return nil, fmt.Errorf("cannot prune: %w", err)
	}
	unlock := m.appLock(app)
	defer unlock()
	rels, invalid, err := m.scan(app)
	if err != nil {
		return nil, fmt.Errorf("cannot prune: %w", err)
	}
	keep := map[string]bool{}
	for _, v := range protect {
		keep[v] = true
	}
	if cur, ok := m.current(app); ok {
		keep[cur] = true
	}
	var doomed []string
	for i, r := range rels {
		if i >= m.opts.Keep && !keep[r.Version] {
			doomed = append(doomed, r.Version)
		}
	}
	for _, v := range invalid {
		if !keep[v] {
			doomed = append(doomed, v)
		}
	}
	var errs []error
	for _, v := range doomed {
		if err := m.remove(app, v); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, v)
	}
	m.cleanStale(app)
	if len(removed) > 0 {
		m.log.Info("releases pruned", "app", app, "removed", removed)
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("cannot prune: %w", err)
	}
	return removed, nil
}

// remove renames a release aside, then deletes it.
func (m *Manager) remove(app, version string) error {
	aside := filepath.Join(m.releasesDir(app), ".tmp-rm-"+version+"-"+randHex())
	if err := os.Rename(m.releaseDir(app, version), aside); err != nil {
		return fmt.Errorf("cannot remove release %s %s: %w", app, version, err)
	}
	if err := os.RemoveAll(aside); err != nil {
		m.log.Warn("cannot delete a removed release; a later prune retries", "app", app, "version", version, "err", err)
	}
	return nil
}

// cleanStale removes leftovers of interrupted work: releases moved aside
// (always), and download files, unpack directories and current links not
// in use by this Manager and older than StaleAge. Best effort.
func (m *Manager) cleanStale(app string) {
	now := time.Now()
	sweep := func(dir string, match func(name string) (always bool, ok bool)) {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		for _, e := range ents {
			always, ok := match(e.Name())
			if !ok {
				continue
			}
			p := filepath.Join(dir, e.Name())
			if m.inUse(p) {
				continue
			}
			if !always {
				fi, err := e.Info()
				if err != nil || now.Sub(fi.ModTime()) < StaleAge {
					continue
				}
			}
			if err := os.RemoveAll(p); err != nil {
				m.log.Warn("cannot remove a stale temporary path", "path", p, "err", err)
				continue
			}
			m.log.Debug("removed a stale temporary path", "path", p)
		}
	}
	sweep(m.releasesDir(app), func(n string) (bool, bool) {
		if strings.HasPrefix(n, ".tmp-rm-") || strings.HasPrefix(n, ".tmp-old-") {
			return true, true
		}
		return false, strings.HasPrefix(n, ".tmp-")
	})
	sweep(m.appDir(app), func(n string) (bool, bool) {
		return false, strings.HasPrefix(n, ".tmp-") || strings.HasPrefix(n, currentName+".tmp-")
	})
	if m.opts.TempDir != "" {
		sweep(m.opts.TempDir, func(n string) (bool, bool) {
			return false, strings.HasPrefix(n, ".tmp-"+app+".")
		})
	}
}
