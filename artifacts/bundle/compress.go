package bundle

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Compression is how a bundle's tar stream is compressed.
type Compression int

// Compressions Wharf reads and writes.
const (
	Gzip Compression = iota + 1 // tar.gz, magic 1f 8b
	Zstd                        // tar.zst, magic 28 b5 2f fd
)

// String returns "gzip" or "zstd".
func (c Compression) String() string {
	switch c {
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	}
	return fmt.Sprintf("Compression(%d)", int(c))
}

// Ext returns the file name extension: ".tar.gz" or ".tar.zst".
func (c Compression) Ext() string {
	if c == Zstd {
		return ".tar.zst"
	}
	return ".tar.gz"
}

// ParseCompression reads "gzip"/"gz" or "zstd"/"zst".
func ParseCompression(s string) (Compression, error) {
	switch s {
	case "gzip", "gz":
		return Gzip, nil
	case "zstd", "zst":
		return Zstd, nil
	}
	return 0, fmt.Errorf("unknown compression %q (want gzip or zstd)", s)
}

// ErrNotBundle is returned when a stream starts with neither gzip's nor
// zstd's magic bytes.
var ErrNotBundle = errors.New("not a bundle: want a gzip or zstd compressed tar stream")

// Detect tells the compression from the first bytes of a bundle (at least 4).
func Detect(head []byte) (Compression, error) {
	switch {
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return Zstd, nil
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return Gzip, nil
	}
	return 0, ErrNotBundle
}

// MaxZstdWindow caps the zstd window a bundle may ask for, so a hostile
// frame header cannot make the decoder allocate gigabytes.
const MaxZstdWindow = 32 << 20

// NewReader returns the decompressed tar stream of a bundle, detecting its
// compression by magic bytes. Close releases the decoder (it does not close r).
func NewReader(r io.Reader) (io.ReadCloser, Compression, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, fmt.Errorf("cannot read bundle: %w", err)
	}
	c, err := Detect(head)
	if err != nil {
		return nil, 0, err
	}
	switch c {
	case Zstd:
		d, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(MaxZstdWindow))
		if err != nil {
			return nil, 0, fmt.Errorf("cannot read zstd bundle: %w: %w", ErrCorrupt, err)
		}
		return d.IOReadCloser(), c, nil
	default:
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, 0, fmt.Errorf("cannot read gzip bundle: %w: %w", ErrCorrupt, err)
		}
		return z, c, nil
	}
}

// newWriter returns a compressing writer on w.
func newWriter(w io.Writer, c Compression) (io.WriteCloser, error) {
	switch c {
	case Gzip:
		return gzip.NewWriterLevel(w, gzip.DefaultCompression)
	case Zstd:
		return zstd.NewWriter(w, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(8<<20))
	}
	return nil, fmt.Errorf("unknown compression %v", c)
}
