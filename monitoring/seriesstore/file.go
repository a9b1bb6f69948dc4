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
	"syscall"

	"github.com/wharfhq/wharf/monitoring/rrd"
)

// seriesFile is one open series: its file, mapped shared into memory (rows
// are written and read as plain memory; the kernel writes them back, and
// checkpoints fsync), and its decoded header, which is the authority while
// the file is open (written into the mapping when dirty at eviction and
// checkpoints).
type seriesFile struct {
	key     string
	path    string
	f       *os.File
	data    []byte
	h       header
	offsets []int64
	dirty   bool
}

// seriesPath is where the series of key lives: series/<xx>/<32 hex>.rrd,
// named by a hash so any key is a safe file name.
func seriesPath(root, key string) string {
	sum := sha256.Sum256([]byte(key))
	name := hex.EncodeToString(sum[:16])
	return filepath.Join(root, name[:2], name+".rrd")
}

// createSeriesFile writes a new series file (header and unknown rows),
// replacing whatever was at path. The rows are written with write(2), so
// the file's blocks exist before it is mapped (a full disk is an error
// here, not a fault later). It does not fsync: checkpoints do.
func createSeriesFile(path string, h header) (*seriesFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("cannot create series directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot create series file: %w", err)
	}
	hbuf := make([]byte, headerSize)
	if err := encodeHeader(hbuf, &h); err != nil {
		_ = f.Close()
		return nil, err
	}
	if _, err := f.WriteAt(hbuf, 0); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cannot write series header: %w", err)
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
	return mapSeries(f, path, h)
}

// mapSeries maps an open file of the right size for h.
func mapSeries(f *os.File, path string, h header) (*seriesFile, error) {
	data, err := syscall.Mmap(int(f.Fd()), 0, int(fileSize(&h.Spec)), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cannot map series file: %w", err)
	}
	return &seriesFile{key: h.Key, path: path, f: f, data: data, h: h, offsets: rrd.Offsets(&h.Spec)}, nil
}

// openSeriesFile opens, checks and maps an existing series file.
func openSeriesFile(path string) (*seriesFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot open series file: %w", err)
	}
	h, err := checkFile(f)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return mapSeries(f, path, h)
}

// checkFile reads the header of f and checks the file's size against it.
func checkFile(f *os.File) (header, error) {
	hbuf := make([]byte, headerSize)
	if _, err := f.ReadAt(hbuf, 0); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return header{}, fmt.Errorf("cannot read series header: short file: %w", errCorrupt)
		}
		return header{}, fmt.Errorf("cannot read series header: %w", err)
	}
	h, err := decodeHeader(hbuf)
	if err != nil {
		return h, err
	}
	st, err := f.Stat()
	if err != nil {
		return h, fmt.Errorf("cannot stat series file: %w", err)
	}
	if st.Size() != fileSize(&h.Spec) {
		return h, fmt.Errorf("cannot open series file: size %d, want %d: %w", st.Size(), fileSize(&h.Spec), errCorrupt)
	}
	return h, nil
}

// writeHeader puts sf.h into the mapped header region.
func (sf *seriesFile) writeHeader() error {
	if err := encodeHeader(sf.data[:headerSize], &sf.h); err != nil {
		return err
	}
	sf.dirty = false
	return nil
}

// close unmaps and closes the file, writing nothing.
func (sf *seriesFile) close() error {
	err := syscall.Munmap(sf.data)
	sf.data = nil
	if cerr := sf.f.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cannot close series file: %w", err)
	}
	return nil
}

// WriteRow implements rrd.RowWriter.
func (sf *seriesFile) WriteRow(archive int, row int64, v float64) error {
	binary.LittleEndian.PutUint64(sf.data[headerSize+8*(sf.offsets[archive]+row):], math.Float64bits(v))
	return nil
}

// ReadRow implements rrd.RowReader.
func (sf *seriesFile) ReadRow(archive int, row int64) (float64, error) {
	return math.Float64frombits(binary.LittleEndian.Uint64(sf.data[headerSize+8*(sf.offsets[archive]+row):])), nil
}
