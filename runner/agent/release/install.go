package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/wharfhq/wharf/artifacts/unpack"
)

// Install makes version of app present, downloading the bundle from src
// unless a release of that version with the same sha256 (hex, any case)
// is already there, in which case it returns it with Skipped set.
//
// Otherwise it downloads into a temporary file (each attempt bounded by
// Options.DownloadTimeout, retried as Options.Retries says), computing the
// sha256 while writing, and checks it before unpacking anything (a
// mismatch is ErrChecksum). It unpacks into a temporary directory under
// releases/, checks the manifest there (it must exist and name app),
// writes the marker and renames the directory to releases/<version>. A
// directory of that name without a valid marker is replaced; so is a
// release with another sha256, unless it is the current one (ErrConflict).
// On every failure the temporary file and directory are removed.
//
// Concurrent calls for the same app and version run one after the other;
// while one waits, ctx may end it.
func (m *Manager) Install(ctx context.Context, app, version, sha256hex string, src Source) (Release, error) {
	if err := checkNames(app, version); err != nil {
		return Release{}, fmt.Errorf("cannot install: %w", err)
	}
	sum, err := checkSum(sha256hex)
	if err != nil {
		return Release{}, fmt.Errorf("cannot install %s %s: %w", app, version, err)
	}
	if src == nil {
		return Release{}, fmt.Errorf("cannot install %s %s: %w: no source", app, version, ErrInvalid)
	}
	unlock, err := m.installLock(ctx, app, version)
	if err != nil {
		return Release{}, fmt.Errorf("cannot install %s %s: %w", app, version, err)
	}
	defer unlock()
	log := m.log.With("app", app, "version", version)
	if r, ok, err := m.existing(app, version, sum); err != nil || ok {
		if ok {
			log.Debug("release already present", "sha256", sum)
		}
		return r, err
	}
	r, err := m.fetch(ctx, log, app, version, sum, src)
	if err != nil {
		log.Warn("install failed", "err", err)
		return Release{}, fmt.Errorf("cannot install %s %s: %w", app, version, err)
	}
	log.Info("release installed", "sha256", sum, "bytes", r.Downloaded,
		"download", r.Durations.Download, "verify", r.Durations.Verify, "unpack", r.Durations.Unpack)
	return r, nil
}

// existing returns the present release when its sha256 is sum (ok true),
// ErrConflict when the current release has another sha256, and nothing
// when an install should go ahead.
func (m *Manager) existing(app, version, sum string) (Release, bool, error) {
	unlock := m.appLock(app)
	defer unlock()
	r, err := m.load(app, version)
	if err != nil {
		return Release{}, false, nil // absent or unverified: install over it
	}
	if r.SHA256 == sum {
		r.Skipped = true
		return r, true, nil
	}
	if cur, ok := m.current(app); ok && cur == version {
		return Release{}, false, fmt.Errorf("cannot install %s %s: %w: the current release has sha256 %s, not %s", app, version, ErrConflict, r.SHA256, sum)
	}
	return Release{}, false, nil
}

// fetch downloads, verifies, unpacks and places the release.
func (m *Manager) fetch(ctx context.Context, log *slog.Logger, app, version, sum string, src Source) (Release, error) {
	if err := os.MkdirAll(m.releasesDir(app), 0o755); err != nil {
		return Release{}, fmt.Errorf("cannot create releases directory: %w", err)
	}
	f, err := os.CreateTemp(m.tempDir(app), ".tmp-"+app+"."+version+"-*.bundle")
	if err != nil {
		return Release{}, fmt.Errorf("cannot create download file: %w", err)
	}
	defer m.track(f.Name())()
	defer os.Remove(f.Name())
	defer f.Close()

	var d Durations
	start := time.Now()
	n, got, err := m.download(ctx, log, f, src)
	d.Download = time.Since(start)
	if err != nil {
		return Release{}, err
	}
	start = time.Now()
	if got != sum {
		return Release{}, fmt.Errorf("cannot verify bundle: %w: want %s, got %s (%d bytes)", ErrChecksum, sum, got, n)
	}
	d.Verify = time.Since(start)
	start = time.Now()
	r, err := m.unpackAndPlace(ctx, log, f, marker{App: app, Version: version, SHA256: sum, Size: n})
	d.Unpack = time.Since(start)
	if err != nil {
		return Release{}, err
	}
	r.Downloaded, r.Durations = n, d
	return r, nil
}

// unpackAndPlace unpacks the downloaded bundle f into a temporary
// directory, checks its manifest, writes the marker (mk without its time)
// and renames the directory into place.
func (m *Manager) unpackAndPlace(ctx context.Context, log *slog.Logger, f *os.File, mk marker) (Release, error) {
	rel := m.releasesDir(mk.App)
	tmp, err := os.MkdirTemp(rel, ".tmp-"+mk.Version+"-*")
	if err != nil {
		return Release{}, fmt.Errorf("cannot create unpack directory: %w", err)
	}
	defer m.track(tmp)()
	placed := false
	defer func() {
		if !placed {
			_ = os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return Release{}, fmt.Errorf("cannot create unpack directory: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return Release{}, fmt.Errorf("cannot read download file: %w", err)
	}
	if _, err := unpack.Extract(ctx, f, tmp, m.opts.Unpack); err != nil {
		return Release{}, classifyUnpack(ctx, err)
	}
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return Release{}, fmt.Errorf("cannot open unpacked bundle: %w", err)
	}
	defer root.Close()
	mf, err := readManifest(root, mk.App)
	if err != nil {
		return Release{}, fmt.Errorf("%w: %w", ErrBadBundle, err)
	}
	mk.InstalledAt = time.Now().UTC()
	if err := writeMarker(root, mk); err != nil {
		return Release{}, err
	}
	dir, err := m.place(log, tmp, mk)
	if err != nil {
		return Release{}, err
	}
	placed = true
	return Release{
		App: mk.App, Version: mk.Version, Dir: dir, SHA256: mk.SHA256,
		InstalledAt: mk.InstalledAt, Manifest: mf,
	}, nil
}

// place renames the finished directory tmp to releases/<version>, moving
// aside whatever has that name (see Install for when it may not).
func (m *Manager) place(log *slog.Logger, tmp string, mk marker) (string, error) {
	unlock := m.appLock(mk.App)
	defer unlock()
	rel := m.releasesDir(mk.App)
	final := m.releaseDir(mk.App, mk.Version)
	if _, err := os.Lstat(final); err == nil {
		old, err := m.load(mk.App, mk.Version)
		verified := err == nil
		if cur, ok := m.current(mk.App); ok && cur == mk.Version && verified {
			return "", fmt.Errorf("cannot place release: %w: the current release has sha256 %s", ErrConflict, old.SHA256)
		}
		aside := filepath.Join(rel, ".tmp-old-"+mk.Version+"-"+randHex())
		if err := os.Rename(final, aside); err != nil {
			return "", fmt.Errorf("cannot move the previous %s aside: %w", final, err)
		}
		log.Warn("replacing a release directory", "verified", verified, "old_sha256", old.SHA256)
		defer os.RemoveAll(aside)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("cannot place release: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("cannot place release: %w", err)
	}
	if err := syncDir(rel); err != nil {
		log.Warn("cannot sync releases directory", "err", err)
	}
	return final, nil
}

// classifyUnpack adds ErrBadBundle to an extraction error (which already
// says "cannot unpack") unless it came from ctx or the local system: a
// full disk is not the bundle's fault.
func classifyUnpack(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return err
	}
	var errno syscall.Errno
	var ee *unpack.EntryError
	if errors.As(err, &errno) && (!errors.As(err, &ee) || isLocal(errno)) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrBadBundle, err)
}

// isLocal reports errnos that say something about this host, not the bundle.
func isLocal(e syscall.Errno) bool {
	switch e {
	case syscall.ENOSPC, syscall.EDQUOT, syscall.EIO, syscall.EROFS, syscall.EACCES, syscall.EPERM, syscall.EMFILE, syscall.ENFILE, syscall.ENOMEM:
		return true
	}
	return false
}

func randHex() string { return fmt.Sprintf("%016x", rand.Uint64()) }
