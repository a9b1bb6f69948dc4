package bundle

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Defaults of Limits: what agents unpack (artifacts/unpack uses them as its
// defaults too).
const (
	DefaultMaxBytes int64 = 4 << 30
	DefaultMaxFiles       = 100_000
)

// Limits bound what a bundle may expand to. Zero fields take the defaults.
type Limits struct {
	// MaxBytes caps the total size of file contents (default DefaultMaxBytes).
	MaxBytes int64
	// MaxFiles caps the number of entries of any type (default DefaultMaxFiles).
	MaxFiles int
}

// WithDefaults fills zero fields with the defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = DefaultMaxFiles
	}
	return l
}

// StreamCap is the most decompressed bytes a bundle within l can take: its
// contents plus headers, PAX records and padding per entry, and slack. A
// stream longer than that is refused even if its headers claim less.
func (l Limits) StreamCap() int64 {
	l = l.WithDefaults()
	return l.MaxBytes + int64(l.MaxFiles)*2048 + 8<<20
}

// ErrExpandsTooMuch is wrapped by every *LimitError.
var ErrExpandsTooMuch = errors.New("bundle expands beyond the unpack limits")

// LimitError says which limit a bundle goes over.
type LimitError struct {
	// Limit is "max_bytes", "max_files" or "stream".
	Limit string
	Max   int64
}

// Error implements error.
func (e *LimitError) Error() string {
	switch e.Limit {
	case "max_files":
		return fmt.Sprintf("bundle: more than %d entries (the limit agents unpack)", e.Max)
	case "stream":
		return fmt.Sprintf("bundle: expands to more than %d bytes of tar stream (the limit agents unpack)", e.Max)
	}
	return fmt.Sprintf("bundle: expands to more than %d bytes of files (the limit agents unpack)", e.Max)
}

// Unwrap returns ErrExpandsTooMuch.
func (e *LimitError) Unwrap() error { return ErrExpandsTooMuch }

// errStreamCap ends a scan whose decompressed stream is over the cap.
var errStreamCap = errors.New("stream cap reached")

// scan reads a whole bundle stream: the manifest (as ReadManifest, within
// the first ManifestScanLimit bytes) and every entry after it, counting
// entries and content bytes against lim. It returns the manifest, or why the
// bundle is refused. Decompression stops at the first limit crossed.
func scan(r io.Reader, lim Limits) (*Manifest, error) {
	zr, _, err := NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("cannot read manifest: %w", err)
	}
	defer zr.Close()
	streamCap := lim.StreamCap()
	stream := &capReader{r: zr, left: streamCap, err: errStreamCap}
	tr := tar.NewReader(stream)
	var m *Manifest
	var entries int
	var content int64
	for {
		hdr, err := tr.Next()
		switch {
		case errors.Is(err, io.EOF) && m == nil:
			return nil, missingManifest("the bundle has no " + ManifestName + " at its root")
		case errors.Is(err, io.EOF):
			return m, nil
		case errors.Is(err, errStreamCap):
			return nil, &LimitError{Limit: "stream", Max: streamCap}
		case err != nil:
			return nil, fmt.Errorf("cannot read bundle: %w: %w", ErrCorrupt, err)
		}
		if entries++; entries > lim.MaxFiles {
			return nil, &LimitError{Limit: "max_files", Max: int64(lim.MaxFiles)}
		}
		if m == nil && strings.TrimPrefix(hdr.Name, "./") == ManifestName {
			if m, err = readManifestEntry(tr, hdr); err != nil {
				return nil, err
			}
			content += hdr.Size
			continue
		}
		if m == nil && streamCap-stream.left > ManifestScanLimit {
			return nil, missingManifest(fmt.Sprintf("no %s in the bundle's first %d MiB (wharf push puts it first)", ManifestName, ManifestScanLimit>>20))
		}
		n, err := io.CopyN(io.Discard, tr, lim.MaxBytes-content+1)
		content += n
		switch {
		case content > lim.MaxBytes:
			return nil, &LimitError{Limit: "max_bytes", Max: lim.MaxBytes}
		case errors.Is(err, errStreamCap):
			return nil, &LimitError{Limit: "stream", Max: streamCap}
		case err != nil && !errors.Is(err, io.EOF):
			return nil, fmt.Errorf("cannot read bundle: %w: %w", ErrCorrupt, err)
		}
	}
}

// readManifestEntry reads and parses the wharf.yaml entry tr is at.
func readManifestEntry(tr *tar.Reader, hdr *tar.Header) (*Manifest, error) {
	if hdr.Typeflag != tar.TypeReg {
		return nil, missingManifest(ManifestName + " is not a regular file")
	}
	if hdr.Size > MaxManifestSize {
		return nil, missingManifest(fmt.Sprintf("%s is larger than %d bytes", ManifestName, MaxManifestSize))
	}
	data, err := io.ReadAll(tr)
	if err != nil {
		return nil, fmt.Errorf("cannot read manifest: %w: %w", ErrCorrupt, err)
	}
	return Parse(data)
}

// capReader fails with err once more than left bytes went through.
type capReader struct {
	r    io.Reader
	left int64
	err  error
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, c.err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
