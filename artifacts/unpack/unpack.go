// Package unpack extracts bundles safely: everything is written through an
// os.Root opened on the target directory, and an archive that tries to
// reach outside it, or to exhaust the disk, is refused.
//
// Extract refuses, naming the entry:
//
//   - absolute paths, ".." components, backslashes and NUL bytes in names,
//     names longer than Limits.MaxPathLen or with a component over 255 bytes;
//   - symbolic links that are absolute or that resolve outside the root —
//     checked on the finished tree, following chains of links, after every
//     entry is in place (links are created last, so no entry is ever written
//     through one, and an entry under a link's name is a duplicate);
//   - hard links except to a regular file extracted earlier from the same
//     archive;
//   - device, character, FIFO, sparse and other special entries;
//   - the same path twice (directories excepted), a file under a file;
//   - more than Limits.MaxFiles entries, more than Limits.MaxBytes of file
//     content — counted while copying, and the decompressed stream as a
//     whole is capped too, so headers cannot lie their way past the limit.
//
// On any error the directory is emptied again.
package unpack

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/wharfhq/wharf/artifacts/bundle"
)

// Causes wrapped in an *EntryError (or returned directly).
var (
	// ErrUnsafePath: absolute, "..", backslash, NUL or empty names.
	ErrUnsafePath = errors.New("unsafe path")
	// ErrNameTooLong: a name over Limits.MaxPathLen or a component over 255 bytes.
	ErrNameTooLong = errors.New("name too long")
	// ErrLinkEscapes: a symbolic or hard link pointing outside the root, or a
	// hard link to something that is not a regular file extracted earlier.
	ErrLinkEscapes = errors.New("link points outside the bundle")
	// ErrUnsupportedType: devices, FIFOs, sparse files and other special entries.
	ErrUnsupportedType = errors.New("unsupported entry type")
	// ErrDuplicate: a path that appears twice, or under a file or link.
	ErrDuplicate = errors.New("duplicate entry")
	// ErrTooLarge: more content than Limits.MaxBytes.
	ErrTooLarge = errors.New("bundle too large")
	// ErrTooManyFiles: more entries than Limits.MaxFiles.
	ErrTooManyFiles = errors.New("too many entries")
	// ErrNotEmpty: the target directory has something in it.
	ErrNotEmpty = errors.New("target directory is not empty")
)

// EntryError is a refusal of one archive entry.
type EntryError struct {
	// Name is the entry's name as the archive has it.
	Name string
	Err  error
}

// Error implements error.
func (e *EntryError) Error() string { return fmt.Sprintf("entry %q: %v", e.Name, e.Err) }

// Unwrap returns the cause.
func (e *EntryError) Unwrap() error { return e.Err }

// Limits bound what Extract writes. Zero fields take the defaults.
type Limits struct {
	// MaxBytes caps the total size of file contents (default 4 GiB).
	MaxBytes int64
	// MaxFiles caps the number of entries of any type (default 100,000).
	MaxFiles int
	// MaxPathLen caps an entry's name in bytes (default 1,024).
	MaxPathLen int
}

// Defaults of Limits: the bundle package's, which a push is checked
// against, so a bundle that was stored unpacks on every agent.
const (
	DefaultMaxBytes   = bundle.DefaultMaxBytes
	DefaultMaxFiles   = bundle.DefaultMaxFiles
	DefaultMaxPathLen = 1024
	maxSegmentLen     = 255
	maxLinkDepth      = 40
)

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = DefaultMaxFiles
	}
	if l.MaxPathLen <= 0 {
		l.MaxPathLen = DefaultMaxPathLen
	}
	return l
}

// Stats describes an extraction.
type Stats struct {
	// Entries counts every entry: files, directories and links.
	Entries int
	// Bytes is the total size of file contents written.
	Bytes int64
}

// Extract unpacks the bundle stream r (gzip or zstd) into dir, which must
// exist and be empty. See the package comment for what it refuses. It stops
// when ctx ends. On error dir is emptied again.
func Extract(ctx context.Context, r io.Reader, dir string, lim Limits) (Stats, error) {
	lim = lim.withDefaults()
	root, err := os.OpenRoot(dir)
	if err != nil {
		return Stats{}, fmt.Errorf("cannot unpack: %w", err)
	}
	defer root.Close()
	if err := checkEmpty(root); err != nil {
		return Stats{}, err
	}
	zr, _, err := bundle.NewReader(r)
	if err != nil {
		return Stats{}, fmt.Errorf("cannot unpack: %w", err)
	}
	defer zr.Close()
	x := &extractor{ctx: ctx, root: root, lim: lim, seen: map[string]kind{}}
	// Headers, padding and PAX records are not content, but they are
	// decompressed too: cap the whole stream.
	stream := &capReader{r: zr, left: bundle.Limits{MaxBytes: lim.MaxBytes, MaxFiles: lim.MaxFiles}.StreamCap()}
	st, err := x.run(tar.NewReader(stream))
	if err != nil {
		empty(root)
		return Stats{}, fmt.Errorf("cannot unpack: %w", err)
	}
	return st, nil
}

func checkEmpty(root *os.Root) error {
	d, err := root.Open(".")
	if err != nil {
		return fmt.Errorf("cannot unpack: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(1)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("cannot unpack: %w", err)
	}
	if len(names) > 0 {
		return fmt.Errorf("cannot unpack into %s: %w", root.Name(), ErrNotEmpty)
	}
	return nil
}

// empty removes everything under root, best effort.
func empty(root *os.Root) {
	d, err := root.Open(".")
	if err != nil {
		return
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	for _, n := range names {
		_ = root.RemoveAll(n)
	}
}

// capReader fails with ErrTooLarge once more than left bytes went through.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, ErrTooLarge
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// cleanName checks an entry's name and returns it without "./" prefixes,
// duplicate slashes or a trailing slash ("" for the root itself).
func cleanName(raw string, lim Limits) (string, error) {
	switch {
	case raw == "":
		return "", fmt.Errorf("%w: empty name", ErrUnsafePath)
	case strings.ContainsRune(raw, 0):
		return "", fmt.Errorf("%w: NUL byte in name", ErrUnsafePath)
	case strings.ContainsRune(raw, '\\'):
		return "", fmt.Errorf("%w: backslash in name", ErrUnsafePath)
	case path.IsAbs(raw):
		return "", fmt.Errorf("%w: absolute path", ErrUnsafePath)
	case len(raw) > lim.MaxPathLen:
		return "", fmt.Errorf("%w: %d bytes (limit %d)", ErrNameTooLong, len(raw), lim.MaxPathLen)
	}
	var segs []string
	for s := range strings.SplitSeq(raw, "/") {
		switch {
		case s == "" || s == ".":
			continue
		case s == "..":
			return "", fmt.Errorf("%w: \"..\" component", ErrUnsafePath)
		case len(s) > maxSegmentLen:
			return "", fmt.Errorf("%w: component of %d bytes (limit %d)", ErrNameTooLong, len(s), maxSegmentLen)
		}
		segs = append(segs, s)
	}
	name := strings.Join(segs, "/")
	if name != "" && !fs.ValidPath(name) {
		return "", fmt.Errorf("%w: invalid path", ErrUnsafePath)
	}
	return name, nil
}
