package seriesstore

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"

	"github.com/wharfhq/wharf/monitoring/rrd"
)

// Abandon drops the store as a crash would: segments are unmapped with
// nothing more written (no checkpoint) and the lock released.
func (s *Store) Abandon() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeFiles()
	s.closed = ErrClosed
	_ = s.lock.Close()
	s.lock = nil
}

// SlotOf is where the series of key lives: its segment file and the
// offset of its slot in it.
func (s *Store) SlotOf(key string) (path string, off int64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.index[key]
	if e == nil {
		return "", 0, false
	}
	return e.cls.segs[e.ref.seg].path, int64(e.ref.idx) * e.cls.size, true
}

// Slots is the number of slots of every segment of the store, and how many are free.
func (s *Store) Slots() (total, free int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.classes {
		for _, g := range c.segs {
			total += c.slots(g)
		}
		free += len(c.free)
	}
	return total, free
}

// LegacyPath is where the old layout (one file per series) kept the series
// of key under dir.
func LegacyPath(dir, key string) string { return legacyPath(filepath.Join(dir, legacyDir), key) }

// WriteLegacySeries writes the series sr of key as a file of the old layout
// (one file per series) under dir.
func WriteLegacySeries(dir, key string, counterType rrd.DSType, sr *rrd.Series) error {
	b := make([]byte, seriesSize(&sr.Spec))
	if err := encodeHeader(b[:headerSize], &header{Key: key, CounterType: counterType, Spec: sr.Spec, State: sr.State}); err != nil {
		return err
	}
	for i, v := range sr.Values {
		binary.LittleEndian.PutUint64(b[headerSize+8*i:], math.Float64bits(v))
	}
	path := LegacyPath(dir, key)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// LegacyRecord is a record of the old layout's write-ahead log: a base
// image of a series (Base set: its spec and state) or a point.
type LegacyRecord struct {
	Key         string
	CounterType rrd.DSType
	Base        *rrd.Series
	New         bool
	Time        int64
	Value       float64
}

// WriteLegacyLog writes recs as a write-ahead log segment of the old layout.
func WriteLegacyLog(dir string, recs []LegacyRecord) error {
	w := &wal{}
	for _, r := range recs {
		if r.Base == nil {
			w.addKeyPoint(r.Key, r.Time, r.Value)
			continue
		}
		start := w.begin()
		flags := byte(0)
		if r.New {
			flags = flagNew
		}
		w.buf = append(w.buf, kindBase, flags)
		w.buf = appendBody(w.buf, &header{Key: r.Key, CounterType: r.CounterType, Spec: r.Base.Spec, State: r.Base.State})
		w.end(start)
	}
	if err := os.MkdirAll(filepath.Join(dir, "wal"), 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "wal", segmentName(7)), w.buf, 0o600)
}

// SetAllocate replaces how the store's existing slot classes give their
// segment files blocks (a full disk, in tests).
func SetAllocate(s *Store, fn func(f *os.File, off, size int64) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.classes {
		c.allocate = fn
	}
}

// Allocate is the store's own way of giving a segment file blocks.
var Allocate = allocate

// addKeyPoint queues a point record of the logs written before kindPoints
// (named by key, one a record).
func (w *wal) addKeyPoint(key string, t int64, v float64) {
	start := w.begin()
	le := binary.LittleEndian
	w.buf = append(w.buf, kindPoint)
	w.buf = le.AppendUint16(w.buf, uint16(len(key)))
	w.buf = append(w.buf, key...)
	w.buf = le.AppendUint64(w.buf, uint64(t))
	w.buf = le.AppendUint64(w.buf, math.Float64bits(v))
	w.end(start)
}

// PowerCut drops the store as a power cut would in the worst case the
// write-ahead rule allows: the log loses whatever was not synced (its
// current segment is cut to the synced length), while every page written
// into the segments' mappings stays (the kernel wrote them back). Then
// the store is abandoned like Abandon.
func PowerCut(s *Store) error {
	s.mu.Lock()
	path, synced := filepath.Join(s.walDir, segmentName(s.w.seq)), s.w.synced
	s.mu.Unlock()
	s.Abandon()
	return os.Truncate(path, synced)
}

// SetFsync makes the store fsync its log segments with fn (a failure
// injected as the kernel reports it) from now on.
func (s *Store) SetFsync(fn func(*os.File) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fsyncFile = fn
	if s.w != nil {
		s.w.fsyncMu.Lock()
		s.w.fsyncFile = fn
		s.w.fsyncMu.Unlock()
	}
}

// SetApplyHook makes every apply pass of the store's waiting points call
// fn after every slice of at most series series (the store's lock is
// not held then: Appends and reads go on).
func SetApplyHook(s *Store, series int, fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.applyHook, s.applySlice = fn, series
}

// Waiting is the points waiting to be applied: queued since the last pass
// took them, and taken by a pass in progress.
func Waiting(s *Store) (queued, taken int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deferredN, s.takenN
}

// HoldsLock reports whether someone holds the store's lock (tests call it
// from an fsync hook while no other goroutine uses the store).
func HoldsLock(s *Store) bool {
	if s.mu.TryLock() {
		s.mu.Unlock()
		return false
	}
	return true
}
