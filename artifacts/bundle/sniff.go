package bundle

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// ManifestScanLimit is how far into the decompressed tar stream
// ReadManifest looks for wharf.yaml. Pack writes it first; other tools may
// put it anywhere, so the limit is generous but bounded: a bundle is not
// decompressed to its end just to find its manifest.
const ManifestScanLimit = 64 << 20

// ReadManifest reads a bundle stream (gzip or zstd) up to its wharf.yaml at
// the root and returns it parsed and validated, without unpacking anything.
// It reads no further than that entry. A stream that is not a bundle is
// ErrNotBundle; a bundle without a valid manifest is a *ManifestError.
func ReadManifest(r io.Reader) (*Manifest, error) {
	zr, _, err := NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("cannot read manifest: %w", err)
	}
	defer zr.Close()
	tr := tar.NewReader(&capReader{r: zr, left: ManifestScanLimit, err: errScanLimit})
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, missingManifest("the bundle has no " + ManifestName + " at its root")
		}
		if errors.Is(err, errScanLimit) {
			return nil, missingManifest(fmt.Sprintf("no %s in the bundle's first %d MiB (wharf push puts it first)", ManifestName, ManifestScanLimit>>20))
		}
		if err != nil {
			return nil, fmt.Errorf("cannot read manifest: %w: %w", ErrCorrupt, err)
		}
		if strings.TrimPrefix(hdr.Name, "./") != ManifestName {
			continue
		}
		return readManifestEntry(tr, hdr)
	}
}

// ErrCorrupt is returned when a bundle's compression or tar structure is broken.
var ErrCorrupt = errors.New("corrupt bundle")

func missingManifest(msg string) error {
	return &ManifestError{Problems: []*FieldError{{Msg: msg}}}
}

var errScanLimit = errors.New("scan limit reached")

// Sniffer finds and validates the manifest of a bundle streaming past it,
// e.g. an upload passed through io.TeeReader(body, sniffer) on its way to
// storage, so a push is validated without a second read or a temporary file,
// and checks the whole tar stream against the Limits agents unpack with, so
// a compression bomb is refused at push and not stored.
//
// Write fails as soon as the manifest is known to be invalid or missing, or
// the bundle to expand beyond the limits (a *LimitError), so the upload
// stops early; once the tar stream has ended, Write only counts. Finish ends
// the stream and returns the result. A Sniffer runs one goroutine until
// Finish or Close.
type Sniffer struct {
	pr   *io.PipeReader
	pw   *io.PipeWriter
	done chan struct{}
	m    *Manifest
	err  error
	once sync.Once
}

var errSniffed = errors.New("manifest already read")

// NewSniffer starts a Sniffer checking against lim (zero fields take the
// defaults, which are the limits of artifacts/unpack).
func NewSniffer(lim Limits) *Sniffer {
	pr, pw := io.Pipe()
	s := &Sniffer{pr: pr, pw: pw, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.m, s.err = scan(pr, lim.WithDefaults())
		pr.CloseWithError(errSniffed)
	}()
	return s
}

// Write implements io.Writer.
func (s *Sniffer) Write(p []byte) (int, error) {
	select {
	case <-s.done:
		if s.err != nil {
			return 0, s.err
		}
		return len(p), nil
	default:
	}
	if _, err := s.pw.Write(p); err != nil {
		<-s.done // the reader stopped: the result is ready
		if s.err != nil {
			return 0, s.err
		}
	}
	return len(p), nil
}

// Finish marks the end of the stream and returns the manifest, or why there
// is none (a *ManifestError, ErrNotBundle, or an error wrapping ErrCorrupt).
func (s *Sniffer) Finish() (*Manifest, error) {
	s.Close()
	return s.m, s.err
}

// Close stops the Sniffer; it is safe to call more than once.
func (s *Sniffer) Close() error {
	s.once.Do(func() { s.pw.Close() })
	<-s.done
	return nil
}
