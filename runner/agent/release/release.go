// Package release manages an app's releases on a host for Wharf's deploy
// agent: it downloads a bundle, verifies its sha256, unpacks it safely,
// switches the app's current release and prunes old ones.
//
// Layout under Options.Root, one directory per app:
//
//	<root>/<app>/releases/<version>/                    an unpacked bundle
//	<root>/<app>/releases/<version>/.wharf-release.json the marker, written last
//	<root>/<app>/current -> releases/<version>          the active release
//	<root>/<app>/.tmp-<app>.<version>-*.bundle          a download in progress
//	<root>/<app>/releases/.tmp-<version>-*              an unpack in progress
//
// A release is present only when its directory holds a valid marker. The
// marker is written after the bundle is unpacked and its manifest checked,
// in a temporary directory that is then renamed into place, so a crash at
// any point never leaves a half-unpacked release that looks installed.
// Leftover temporary files and directories are removed by Prune.
//
// Nothing from the network chooses a path: app and version names are
// validated, and bundles are unpacked through package unpack, which writes
// only below its target directory.
//
// Concurrency: Install calls for the same app and version run one at a time
// (the later ones find the release present and skip the download); the
// short steps that change an app's releases directory or its current link
// (placing a release, Activate, Prune) run one at a time per app. Different
// apps proceed in parallel. One Manager should own a Root: the locks are in
// memory, not on disk.
package release

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/artifacts/bundle"
	"github.com/wharfhq/wharf/artifacts/unpack"
	"github.com/wharfhq/wharf/internal/logging"
)

// Errors returned, wrapped, by the Manager.
var (
	// ErrInvalid: an app name, version or sha256 that is not acceptable.
	ErrInvalid = errors.New("invalid app, version or checksum")
	// ErrChecksum: the downloaded bundle's sha256 is not the expected one.
	// It is not retried: the transfer itself is checked by HTTP framing
	// (a short body is a network error, which is retried), so a mismatch
	// means the source serves other bytes and would serve them again.
	ErrChecksum = errors.New("sha256 mismatch")
	// ErrBadBundle: the bundle's content is refused: the extractor refused
	// an entry (the cause, e.g. unpack.ErrUnsafePath, is wrapped too), the
	// manifest is missing or invalid or names another app, the bundle holds
	// the reserved marker file, or the download is larger than
	// Options.MaxDownload. Retrying does not help.
	ErrBadBundle = errors.New("bad bundle")
	// ErrNotInstalled: no release of that version is present (no directory,
	// or no valid marker in it).
	ErrNotInstalled = errors.New("release not installed")
	// ErrConflict: the version is installed and current with another
	// sha256; a current release is never replaced under a running app.
	ErrConflict = errors.New("version installed with another sha256")
)

// Defaults of Options.
const (
	DefaultKeep            = 5
	DefaultDownloadTimeout = 10 * time.Minute
	DefaultRetries         = 3
	DefaultBackoff         = time.Second
	DefaultMaxDownload     = 4 << 30
	// MaxBackoff caps the wait between two download attempts.
	MaxBackoff = 30 * time.Second
	// StaleAge is how old a temporary file or directory must be before
	// Prune removes it (ones in use by this Manager are never removed).
	StaleAge = time.Hour
	// MaxVersionLen is the longest version accepted.
	MaxVersionLen = 128
	// MarkerName is the marker file in each release directory. A bundle
	// that contains a file of this name at its root is refused.
	MarkerName = ".wharf-release.json"
)

// Options configure a Manager. Zero fields take the defaults.
type Options struct {
	// Root holds one directory per app. Required; created if missing.
	Root string
	// Keep is how many releases Prune keeps, newest first (default 5);
	// the current release and protected versions are kept in addition.
	Keep int
	// DownloadTimeout bounds one download attempt, from the request to
	// the body's last byte (default 10m).
	DownloadTimeout time.Duration
	// Retries is how many more download attempts follow a failed one on
	// a network error, a timeout or a retryable status (5xx, 408, 429):
	// default 3, negative for none. Other 4xx statuses are never retried.
	Retries int
	// Backoff is the wait before the first retry (default 1s); it doubles
	// for each further retry, up to MaxBackoff, with jitter.
	Backoff time.Duration
	// MaxDownload caps a bundle's compressed size in bytes (default 4 GiB).
	MaxDownload int64
	// Unpack bounds what a bundle may unpack to (zero: unpack's defaults).
	Unpack unpack.Limits
	// TempDir holds downloads in progress (default: the app's directory).
	TempDir string
	// Logger receives the Manager's logs (default: discarded).
	Logger *slog.Logger
}

// Durations time the steps of an Install.
type Durations struct {
	// Download covers every attempt and the waits between them; the
	// sha256 is computed while the bytes are written.
	Download time.Duration
	// Verify is the checksum comparison.
	Verify time.Duration
	// Unpack covers extracting, checking the manifest, writing the marker
	// and renaming the release into place.
	Unpack time.Duration
}

// Release is an installed release.
type Release struct {
	App     string
	Version string
	// Dir is the release's absolute directory.
	Dir string
	// SHA256 is the bundle's checksum, lowercase hex.
	SHA256 string
	// InstalledAt is when the release was placed.
	InstalledAt time.Time
	// Manifest is the bundle's wharf.yaml, parsed.
	Manifest *bundle.Manifest
	// Skipped reports that Install found the release already present and
	// downloaded nothing.
	Skipped bool
	// Downloaded is the bytes this Install downloaded (the last attempt).
	Downloaded int64
	// Durations times this Install's steps (zero when skipped).
	Durations Durations
}

// Manager installs, activates and prunes releases under one root.
type Manager struct {
	opts  Options
	log   *slog.Logger
	locks locks

	mu     sync.Mutex
	active map[string]struct{} // temporary paths in use by this Manager
}

// New returns a Manager over opts.Root, creating it if missing.
func New(opts Options) (*Manager, error) {
	if opts.Root == "" {
		return nil, fmt.Errorf("cannot create release manager: %w: empty root", ErrInvalid)
	}
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, fmt.Errorf("cannot create release manager: %w", err)
	}
	opts.Root = root
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create release root: %w", err)
	}
	if opts.TempDir != "" {
		if opts.TempDir, err = filepath.Abs(opts.TempDir); err != nil {
			return nil, fmt.Errorf("cannot create release manager: %w", err)
		}
		if err := os.MkdirAll(opts.TempDir, 0o755); err != nil {
			return nil, fmt.Errorf("cannot create release temp dir: %w", err)
		}
	}
	if opts.Keep <= 0 {
		opts.Keep = DefaultKeep
	}
	if opts.DownloadTimeout <= 0 {
		opts.DownloadTimeout = DefaultDownloadTimeout
	}
	switch {
	case opts.Retries == 0:
		opts.Retries = DefaultRetries
	case opts.Retries < 0:
		opts.Retries = 0
	}
	if opts.Backoff <= 0 {
		opts.Backoff = DefaultBackoff
	}
	if opts.MaxDownload <= 0 {
		opts.MaxDownload = DefaultMaxDownload
	}
	return &Manager{
		opts:   opts,
		log:    logging.Component(opts.Logger, "release"),
		active: map[string]struct{}{},
	}, nil
}

// appDir returns <root>/<app>; app must be valid.
func (m *Manager) appDir(app string) string { return filepath.Join(m.opts.Root, app) }

// releasesDir returns <root>/<app>/releases.
func (m *Manager) releasesDir(app string) string {
	return filepath.Join(m.opts.Root, app, "releases")
}

// releaseDir returns <root>/<app>/releases/<version>.
func (m *Manager) releaseDir(app, version string) string {
	return filepath.Join(m.opts.Root, app, "releases", version)
}

// tempDir returns where app's downloads go.
func (m *Manager) tempDir(app string) string {
	if m.opts.TempDir != "" {
		return m.opts.TempDir
	}
	return m.appDir(app)
}

// track records a temporary path as in use, so Prune leaves it alone;
// the returned func forgets it.
func (m *Manager) track(path string) func() {
	m.mu.Lock()
	m.active[path] = struct{}{}
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		delete(m.active, path)
		m.mu.Unlock()
	}
}

func (m *Manager) inUse(path string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.active[path]
	return ok
}

// checkApp validates an app name as bundle manifests do: a-z, 0-9 and '-',
// at most 63 bytes, starting with a letter.
func checkApp(app string) error {
	ok := app != "" && len(app) <= 63 && app[0] >= 'a' && app[0] <= 'z'
	for i := 0; ok && i < len(app); i++ {
		c := app[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
	}
	if !ok {
		return fmt.Errorf("%w: app %q (want a-z, 0-9 and '-', at most 63, starting with a letter)", ErrInvalid, app)
	}
	return nil
}

// checkVersion validates a version: 1 to MaxVersionLen bytes of A-Z, a-z,
// 0-9, '.', '_', '+' and '-', starting with a letter or digit, without "..".
// It can never be a path separator, ".", "..", or a temporary name.
func checkVersion(v string) error {
	ok := v != "" && len(v) <= MaxVersionLen && isAlnum(v[0]) && !strings.Contains(v, "..")
	for i := 0; ok && i < len(v); i++ {
		ok = isAlnum(v[i]) || strings.IndexByte("._+-", v[i]) >= 0
	}
	if !ok {
		return fmt.Errorf("%w: version %q (want A-Z, a-z, 0-9, '.', '_', '+' and '-', at most %d, starting with a letter or digit)", ErrInvalid, v, MaxVersionLen)
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// checkSum validates a sha256 in hex and returns it lowercase.
func checkSum(s string) (string, error) {
	s = strings.ToLower(s)
	ok := len(s) == 64
	for i := 0; ok && i < len(s); i++ {
		ok = s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f'
	}
	if !ok {
		return "", fmt.Errorf("%w: sha256 %q (want 64 hex digits)", ErrInvalid, s)
	}
	return s, nil
}

// checkNames validates app and version.
func checkNames(app, version string) error {
	if err := checkApp(app); err != nil {
		return err
	}
	return checkVersion(version)
}

// syncDir flushes a directory's entries (a rename or a new link) to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
