package release

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/wharfhq/wharf/artifacts/bundle"
)

// maxMarkerSize bounds the marker file read back.
const maxMarkerSize = 4 << 10

// marker is the content of a release's MarkerName file.
type marker struct {
	App         string    `json:"app"`
	Version     string    `json:"version"`
	SHA256      string    `json:"sha256"`
	Size        int64     `json:"size"`
	InstalledAt time.Time `json:"installed_at"`
}

// writeMarker creates the marker in the release directory root. It fails
// if the name is taken (a bundle may not ship its own marker).
func writeMarker(root *os.Root, mk marker) error {
	data, err := json.Marshal(mk)
	if err != nil {
		return fmt.Errorf("cannot encode release marker: %w", err)
	}
	f, err := root.OpenFile(MarkerName, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: it contains %s, a name reserved for the release marker", ErrBadBundle, MarkerName)
		}
		return fmt.Errorf("cannot write release marker: %w", err)
	}
	_, err = f.Write(append(data, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cannot write release marker: %w", err)
	}
	return nil
}

// decodeMarker parses and checks a marker against the app and version
// its directory belongs to.
func decodeMarker(data []byte, app, version string) (marker, error) {
	var mk marker
	if len(data) > maxMarkerSize {
		return mk, fmt.Errorf("marker larger than %d bytes", maxMarkerSize)
	}
	if err := json.Unmarshal(data, &mk); err != nil {
		return mk, fmt.Errorf("cannot decode marker: %w", err)
	}
	if mk.App != app || mk.Version != version {
		return mk, fmt.Errorf("marker names %s %s", mk.App, mk.Version)
	}
	if s, err := checkSum(mk.SHA256); err != nil || s != mk.SHA256 {
		return mk, fmt.Errorf("marker has a bad sha256 %q", mk.SHA256)
	}
	if mk.InstalledAt.IsZero() || mk.Size < 0 {
		return mk, errors.New("marker lacks installed_at or has a negative size")
	}
	return mk, nil
}

// readRegular reads a regular file (not a link) of at most max bytes
// through root.
func readRegular(root *os.Root, name string, max int64) ([]byte, error) {
	fi, err := root.Lstat(name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	if fi.Size() > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, max)
	}
	return root.ReadFile(name)
}

// readManifest reads, parses and checks the release's wharf.yaml.
func readManifest(root *os.Root, app string) (*bundle.Manifest, error) {
	data, err := readRegular(root, bundle.ManifestName, bundle.MaxManifestSize)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("cannot read manifest: the bundle has no %s at its root", bundle.ManifestName)
		}
		return nil, fmt.Errorf("cannot read manifest: %w", err)
	}
	mf, err := bundle.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("cannot read manifest: %w", err)
	}
	if mf.App != app {
		return nil, fmt.Errorf("cannot use manifest: it is for app %q, not %q", mf.App, app)
	}
	return mf, nil
}

// load returns the present release app/version: its directory must hold
// a valid marker and manifest. Anything else is ErrNotInstalled.
func (m *Manager) load(app, version string) (Release, error) {
	dir := m.releaseDir(app, version)
	root, err := os.OpenRoot(dir)
	if err != nil {
		return Release{}, fmt.Errorf("cannot load release %s %s: %w: %w", app, version, ErrNotInstalled, err)
	}
	defer root.Close()
	data, err := readRegular(root, MarkerName, maxMarkerSize)
	if err != nil {
		return Release{}, fmt.Errorf("cannot load release %s %s: %w: %w", app, version, ErrNotInstalled, err)
	}
	mk, err := decodeMarker(data, app, version)
	if err != nil {
		return Release{}, fmt.Errorf("cannot load release %s %s: %w: %w", app, version, ErrNotInstalled, err)
	}
	mf, err := readManifest(root, app)
	if err != nil {
		return Release{}, fmt.Errorf("cannot load release %s %s: %w: %w", app, version, ErrNotInstalled, err)
	}
	return Release{
		App: app, Version: version, Dir: dir, SHA256: mk.SHA256,
		InstalledAt: mk.InstalledAt, Manifest: mf,
	}, nil
}
