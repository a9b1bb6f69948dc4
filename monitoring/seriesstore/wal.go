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
	"sync"
	"sync/atomic"

	"github.com/wharfhq/wharf/monitoring/rrd"
)

// Write-ahead log: segments wal/<seq>.log of records
//
//	len u32 | crc32c(payload) u32 | payload
//	payload: kind u8 | ...
//	  kindSlotBase: flags u8 | slot size u64 | segment u32 | slot u32 | header body
//	                (the series as of the last checkpoint, or new, and its slot)
//	  kindPoints:   (base uvarint | time uvarint | value f64)...  (one or more)
//	                base numbers the series by its base image in this
//	                segment (0 for the segment's first, 1 for the next...)
//	  kindPoint:    key len u16 | key | time i64 | value f64
//	                (a point of the logs written before kindPoints: read, never written)
//	  kindBase:     flags u8 | header body (the layout of one file per series:
//	                read when migrating a directory, never written)
//
// An Update's base images come first, then its points, many to a record
// (about 16 bytes a point instead of its key's length plus 27): a point's
// base image is always earlier in its segment.
const (
	recordPrefix = 8
	kindBase     = 1
	kindPoint    = 2
	kindSlotBase = 3
	kindPoints   = 4
	flagNew      = 1
	maxRecord    = 1 << 16
	// maxPointBytes bounds one point of a kindPoints record.
	maxPointBytes = 2*binary.MaxVarintLen64 + 8
)

// wal appends records to the current segment.
type wal struct {
	// fsyncMu serializes the fsyncs of f (Store.Sync runs one without
	// the store's lock); ferr is the first one's error, sticky: after a
	// failed fsync the kernel may have dropped the written pages and a
	// later fsync of the same file returns 0 for them. fsynced is the
	// bytes an fsync covered. Lock order: the store's mu, then fsyncMu.
	fsyncMu sync.Mutex
	ferr    error
	fsynced int64
	// fsyncFile fsyncs f (nil: f.Sync; tests inject failures).
	fsyncFile func(*os.File) error
	// fsyncs counts the fsyncs done, not those an earlier one covered
	// (the store's Syncs; nil: not counted).
	fsyncs *atomic.Uint64
	dir    string
	seq    uint64
	f      *os.File
	size   int64 // bytes written
	// synced is how many of them an fsync made durable: no page of a
	// series is written while synced < size (see Store.syncLog).
	synced int64
	buf    []byte // queued base-image records
	// pbuf holds the queued kindPoints records, written after buf; the
	// last one is open (pstart is where it starts) while popen.
	pbuf   []byte
	pstart int
	popen  bool
	// bases counts the base images logged to this segment: the number of
	// the next one.
	bases uint32
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
// class of slots of size bytes, and returns its number in the segment.
func (w *wal) addBase(h *header, size int64, r slotRef, isNew bool) uint32 {
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
	n := w.bases
	w.bases++
	return n
}

// addPoint queues a point of the series whose base image is number base
// in this segment (t is at least 0).
func (w *wal) addPoint(base uint32, t int64, v float64) {
	if w.popen && len(w.pbuf)-w.pstart-recordPrefix+maxPointBytes > maxRecord {
		w.endPoints()
	}
	if !w.popen {
		w.pstart = len(w.pbuf)
		w.pbuf = append(w.pbuf, make([]byte, recordPrefix)...)
		w.pbuf = append(w.pbuf, kindPoints)
		w.popen = true
	}
	w.pbuf = binary.AppendUvarint(w.pbuf, uint64(base))
	w.pbuf = binary.AppendUvarint(w.pbuf, uint64(t))
	w.pbuf = binary.LittleEndian.AppendUint64(w.pbuf, math.Float64bits(v))
}

// endPoints closes the open points record.
func (w *wal) endPoints() {
	payload := w.pbuf[w.pstart+recordPrefix:]
	binary.LittleEndian.PutUint32(w.pbuf[w.pstart:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(w.pbuf[w.pstart+4:], checksum(payload))
	w.popen = false
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

// write writes the queued records, base images first, without an
// fsync: they survive a crash of the process, not of the machine, until
// the next sync.
func (w *wal) write() error {
	if w.popen {
		w.endPoints()
	}
	if len(w.buf) == 0 && len(w.pbuf) == 0 {
		return nil
	}
	var err error
	for _, b := range [...][]byte{w.buf, w.pbuf} {
		if len(b) == 0 || err != nil {
			continue
		}
		var n int
		n, err = w.f.Write(b)
		w.size += int64(n)
	}
	w.buf, w.pbuf = w.buf[:0], w.pbuf[:0]
	if err != nil {
		return fmt.Errorf("cannot write write-ahead log: %w", err)
	}
	return nil
}

// unsynced reports whether records were written since the last fsync.
func (w *wal) unsynced() bool { return w.synced < w.size }

// sync fsyncs what was written: after it returns nil, every record
// written survives a crash.
func (w *wal) sync() error {
	if !w.unsynced() {
		return nil
	}
	if err := w.fsync(w.size); err != nil {
		return fmt.Errorf("cannot sync write-ahead log: %w", err)
	}
	w.synced = w.size
	return nil
}

// fsync makes the first target bytes of f durable: one fsync at a time,
// none needed when an earlier one covered them, and every one fails after
// one failed.
func (w *wal) fsync(target int64) error {
	w.fsyncMu.Lock()
	defer w.fsyncMu.Unlock()
	if w.ferr != nil {
		return w.ferr
	}
	if target <= w.fsynced {
		return nil
	}
	var err error
	if w.fsyncFile != nil {
		err = w.fsyncFile(w.f)
	} else {
		err = w.f.Sync()
	}
	if err != nil {
		w.ferr = err
		return err
	}
	w.fsynced = target
	if w.fsyncs != nil {
		w.fsyncs.Add(1)
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
	// pts are the points of a kindPoints record (see nextPoint), a view
	// of the segment's read buffer valid until the next record.
	pts []byte
}

// nextPoint decodes the first point of b, a kindPoints record's points.
func nextPoint(b []byte) (base uint32, t int64, v float64, rest []byte, ok bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > math.MaxUint32 {
		return 0, 0, 0, nil, false
	}
	b = b[k:]
	tu, k := binary.Uvarint(b)
	if k <= 0 || tu > rrd.MaxTime || len(b)-k < 8 {
		return 0, 0, 0, nil, false
	}
	b = b[k:]
	return uint32(n), int64(tu), math.Float64frombits(binary.LittleEndian.Uint64(b)), b[8:], true
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
	case kindPoints:
		rec.pts = r.b
		for b := r.b; len(b) > 0; {
			var ok bool
			if _, _, _, b, ok = nextPoint(b); !ok {
				return rec, errCorrupt
			}
		}
		if len(rec.pts) == 0 {
			return rec, errCorrupt
		}
		return rec, nil
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
