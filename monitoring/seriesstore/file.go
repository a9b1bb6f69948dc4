package seriesstore

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/wharfhq/wharf/monitoring/rrd"
)

// seriesFile is one open series: its file and its decoded header, which is
// the authority while the file is open (written back when dirty).
type seriesFile struct {
	key     string
	path    string
	f       *os.File
	h       header
	offsets []int64
	dirty   bool
	scratch [8]byte
}

// seriesPath is where the series of key lives: series/<xx>/<32 hex>.rrd,
// named by a hash so any key is a safe file name.
func seriesPath(root, key string) string {
	sum := sha256.Sum256([]byte(key))
	name := hex.EncodeToString(sum[:16])
	return filepath.Join(root, name[:2], name+".rrd")
}

// createSeriesFile writes a new series file (header and unknown rows),
// replacing whatever was at path. It does not fsync: checkpoints do.
func createSeriesFile(path string, h header, hbuf []byte) (*seriesFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("cannot create series directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot create series file: %w", err)
	}
	sf := &seriesFile{key: h.Key, path: path, f: f, h: h, offsets: rrd.Offsets(&h.Spec)}
	if err := sf.writeHeader(hbuf); err != nil {
		_ = f.Close()
		return nil, err
	}
	nan := binary.LittleEndian.AppendUint64(nil, math.Float64bits(math.NaN()))
	chunk := make([]byte, 0, 64<<10)
	for len(chunk) < cap(chunk) {
		chunk = append(chunk, nan...)
	}
	total := 8 * h.Spec.TotalRows()
	for off := int64(0); off < total; off += int64(len(chunk)) {
		n := min(int64(len(chunk)), total-off)
		if _, err := f.WriteAt(chunk[:n], headerSize+off); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("cannot write series rows: %w", err)
		}
	}
	return sf, nil
}

// openSeriesFile opens and checks an existing series file.
func openSeriesFile(path string, hbuf []byte) (*seriesFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot open series file: %w", err)
	}
	h, err := readHeader(f, hbuf)
	if err == nil {
		var st os.FileInfo
		if st, err = f.Stat(); err == nil && st.Size() != fileSize(&h.Spec) {
			err = fmt.Errorf("cannot open series file: size %d, want %d: %w", st.Size(), fileSize(&h.Spec), errCorrupt)
		}
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return &seriesFile{key: h.Key, path: path, f: f, h: h, offsets: rrd.Offsets(&h.Spec)}, nil
}

func readHeader(f *os.File, hbuf []byte) (header, error) {
	if _, err := f.ReadAt(hbuf[:headerSize], 0); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return header{}, fmt.Errorf("cannot read series header: short file: %w", errCorrupt)
		}
		return header{}, fmt.Errorf("cannot read series header: %w", err)
	}
	return decodeHeader(hbuf[:headerSize])
}

// writeHeader writes the header region from sf.h.
func (sf *seriesFile) writeHeader(hbuf []byte) error {
	if err := encodeHeader(hbuf[:headerSize], &sf.h); err != nil {
		return err
	}
	if _, err := sf.f.WriteAt(hbuf[:headerSize], 0); err != nil {
		return fmt.Errorf("cannot write series header: %w", err)
	}
	sf.dirty = false
	return nil
}

// WriteRow implements rrd.RowWriter.
func (sf *seriesFile) WriteRow(archive int, row int64, v float64) error {
	binary.LittleEndian.PutUint64(sf.scratch[:], math.Float64bits(v))
	if _, err := sf.f.WriteAt(sf.scratch[:], headerSize+8*(sf.offsets[archive]+row)); err != nil {
		return fmt.Errorf("cannot write series row: %w", err)
	}
	return nil
}

// archiveReader serves rows of one archive from a single read.
type archiveReader struct {
	sf      *seriesFile
	archive int
	loaded  bool
	buf     []byte
}

// ReadRow implements rrd.RowReader.
func (r *archiveReader) ReadRow(archive int, row int64) (float64, error) {
	if archive != r.archive || !r.loaded {
		n := 8 * r.sf.h.Spec.Archives[archive].Rows
		if int64(cap(r.buf)) < n {
			r.buf = make([]byte, n)
		}
		r.buf = r.buf[:n]
		if _, err := r.sf.f.ReadAt(r.buf, headerSize+8*r.sf.offsets[archive]); err != nil {
			r.loaded = false
			return 0, fmt.Errorf("cannot read series rows: %w", err)
		}
		r.archive, r.loaded = archive, true
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(r.buf[8*row:])), nil
}
