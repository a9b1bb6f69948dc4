package release

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// currentName is the app's link to its active release.
const currentName = "current"

// Activate points app's current link at releases/<version>, atomically: a
// new link is made beside it and renamed over it, so current always names
// a whole release. It returns the version current pointed at before ("" if
// none), for rollback bookkeeping. The release must be present (see
// Verify), else ErrNotInstalled and current is left as it was.
func (m *Manager) Activate(app, version string) (previous string, err error) {
	if err := checkNames(app, version); err != nil {
		return "", fmt.Errorf("cannot activate: %w", err)
	}
	unlock := m.appLock(app)
	defer unlock()
	if _, err := m.load(app, version); err != nil {
		return "", fmt.Errorf("cannot activate %s %s: %w", app, version, err)
	}
	previous, _ = m.current(app)
	dir := m.appDir(app)
	link := filepath.Join(dir, currentName)
	target := filepath.Join("releases", version)
	var tmp string
	for range 10 {
		tmp = filepath.Join(dir, currentName+".tmp-"+randHex())
		if err = os.Symlink(target, tmp); !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		return "", fmt.Errorf("cannot activate %s %s: %w", app, version, err)
	}
	if err := os.Rename(tmp, link); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("cannot activate %s %s: %w", app, version, err)
	}
	if err := syncDir(dir); err != nil {
		m.log.Warn("cannot sync app directory", "app", app, "err", err)
	}
	m.log.Info("release activated", "app", app, "version", version, "previous", previous)
	return previous, nil
}

// Current returns the version app's current link points at. ok is false
// when there is no link, or it does not name a release by a valid version.
// It does not check that the release is present (Verify does).
func (m *Manager) Current(app string) (version string, ok bool) {
	if checkApp(app) != nil {
		return "", false
	}
	unlock := m.appLock(app)
	defer unlock()
	return m.current(app)
}

// current is Current without validation or lock.
func (m *Manager) current(app string) (string, bool) {
	t, err := os.Readlink(filepath.Join(m.appDir(app), currentName))
	if err != nil {
		return "", false
	}
	v, found := strings.CutPrefix(filepath.ToSlash(t), "releases/")
	if !found || checkVersion(v) != nil {
		return "", false
	}
	return v, true
}
