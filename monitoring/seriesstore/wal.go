package seriesstore

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Write-ahead log: segments wal/<seq>.log of records
//
//	len u32 | crc32c(payload) u32 | payload
//	payload: kind u8 | ...
//	  kindSlotBase: flags u8 | slot size u64 | segment u32 | slot u32 | header body
//	                (the series as of the last checkpoint, or new, and its slot)
//	  kindPoint:    key len u16 | key | time i64 | value f64
//	  kindBase:     flags u8 | header body (the layout of one file per series:
//	                read when migrating a directory, never written)
const (
	recordPrefix = 8
	kindBase     = 1
	kindPoint    = 2
	kindSlotBase = 3
	flagNew      = 1
	maxRecord    = 1 << 16
)

// wal appends records to the current segment.
type wal struct {
	dir  string
	seq  uint64
	f    *os.File
	size int64
	buf  []byte
}

func segmentName(seq uint64) string { return fmt.Sprintf("%012d.log", seq) }

// segments lists the sequence numbers of the segments in dir, oldest first.
func segments(dir string) ([]uint64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot list write-ahead log: %w", err)
	}
	var seqs []uint64
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".log")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(name, 10, 64); err == nil {
			seqs = append(seqs, n)
		}
	}
	slices.Sort(seqs)
	return seqs, nil
}

// openSegment starts segment seq (empty) and makes its name durable.
func openSegment(dir string, seq uint64) (*wal, error) {
	f, err := os.OpenFile(filepath.Join(dir, segmentName(seq)), os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot create write-ahead log segment: %w", err)
	}
	if err := syncDir(dir); err != nil {
		_ = f.Close()
		return nil, err
	}
	return &wal{dir: dir, seq: seq, f: f}, nil
}

// addBase queues a base-image record of h, which lives in slot r of the
// class of slots of size bytes.
func (w *wal) addBase(h *header, size int64, r slotRef, isNew bool) {
	start := w.begin()
	flags := byte(0)
	if isNew {
		flags = flagNew
	}
	le := binary.LittleEndian
	w.buf = append(w.buf, kindSlotBase, flags)
	w.buf = le.AppendUint64(w.buf, uint64(size))
	w.buf = le.AppendUint32(w.buf, r.seg)
	w.buf = le.AppendUint32(w.buf, r.idx)
	w.buf = appendBody(w.buf, h)
	w.end(start)
}

// addPoint queues a point record.
func (w *wal) addPoint(key string, t int64, v float64) {
	start := w.begin()
	le := binary.LittleEndian
	w.buf = append(w.buf, kindPoint)
	w.buf = le.AppendUint16(w.buf, uint16(len(key)))
	w.buf = append(w.buf, key...)
	w.buf = le.AppendUint64(w.buf, uint64(t))
	w.buf = le.AppendUint64(w.buf, math.Float64bits(v))
	w.end(start)
}

func (w *wal) begin() int {
	start := len(w.buf)
	w.buf = append(w.buf, make([]byte, recordPrefix)...)
	return start
}

func (w *wal) end(start int) {
	payload := w.buf[start+recordPrefix:]
	binary.LittleEndian.PutUint32(w.buf[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(w.buf[start+4:], checksum(payload))
}

// commit writes the queued records and fsyncs them: after it returns nil,
// they survive a crash.
func (w *wal) commit() error {
	if len(w.buf) == 0 {
		return nil
	}
	n, err := w.f.Write(w.buf)
	w.size += int64(n)
	w.buf = w.buf[:0]
	if err != nil {
		return fmt.Errorf("cannot write write-ahead log: %w", err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("cannot sync write-ahead log: %w", err)
	}
	return nil
}

// record is one decoded log record.
type record struct {
	kind  byte
	isNew bool
	h     header  // kindBase, kindSlotBase
	size  int64   // kindSlotBase
	slot  slotRef // kindSlotBase
	key   string  // kindPoint
	t     int64
	v     float64
}

// errTorn marks the end of the readable part of a segment.
var errTorn = errors.New("torn or corrupt record")

// readSegment calls fn for each intact record of a segment, in order, and
// stops at the first torn or corrupt one (a crash mid-append), reporting
// how many bytes were good.
func readSegment(path string, fn func(*record) error) (good int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("cannot open write-ahead log segment: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	var prefix [recordPrefix]byte
	var payload []byte
	for {
		if _, err := io.ReadFull(br, prefix[:]); err != nil {
			if err == io.EOF {
				return good, nil
			}
			return good, errTorn
		}
		n := binary.LittleEndian.Uint32(prefix[:])
		if n == 0 || n > maxRecord {
			return good, errTorn
		}
		payload = slices.Grow(payload[:0], int(n))[:n]
		if _, err := io.ReadFull(br, payload); err != nil {
			return good, errTorn
		}
		if checksum(payload) != binary.LittleEndian.Uint32(prefix[4:]) {
			return good, errTorn
		}
		rec, err := decodeRecord(payload)
		if err != nil {
			return good, errTorn
		}
		if err := fn(&rec); err != nil {
			return good, err
		}
		good += int64(recordPrefix + n)
	}
}

func decodeRecord(p []byte) (record, error) {
	r := &reader{b: p}
	rec := record{kind: r.u8()}
	switch rec.kind {
	case kindBase, kindSlotBase:
		rec.isNew = r.u8()&flagNew != 0
		if rec.kind == kindSlotBase {
			rec.size = r.i64()
			rec.slot.seg = binary.LittleEndian.Uint32(r.take(4))
			rec.slot.idx = binary.LittleEndian.Uint32(r.take(4))
		}
		if r.bad {
			return rec, errCorrupt
		}
		h, err := decodeBody(r.b)
		rec.h = h
		return rec, err
	case kindPoint:
		rec.key = string(r.take(int(r.u16())))
		rec.t = r.i64()
		rec.v = r.f64()
		if r.bad || len(r.b) != 0 || rec.key == "" {
			return rec, errCorrupt
		}
		return rec, nil
	}
	return rec, errCorrupt
}

// syncDir makes the entries of dir (created, renamed, removed files) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("cannot open directory to sync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("cannot sync directory: %w", err)
	}
	return nil
}
