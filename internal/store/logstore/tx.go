package logstore

import (
	"fmt"

	"github.com/wharfhq/wharf/internal/store"
)

// tx is one write call under s.mu: its changes go to the map at once and
// to s.buf as log records; commit appends the buffer to the log with one
// write, or undoes the changes when that fails.
type tx struct {
	s     *Store
	rev0  uint64
	live0 int64
	undo  []undo
}

// undo restores one key: it is the item changed (nil: the key was new),
// val and ver what it held, deleted whether the change removed it.
type undo struct {
	key     string
	it      *item
	val     []byte
	ver     uint64
	deleted bool
}

func (s *Store) begin() *tx {
	s.buf = s.buf[:0]
	s.undoBuf = s.undoBuf[:0]
	if cap(s.undoBuf) > maxKeptBuf {
		s.undoBuf = nil // one big batch does not keep its buffer
	}
	return &tx{s: s, rev0: s.rev, live0: s.live, undo: s.undos[:0]}
}

// done gives t's undo list back to the store for the next write.
func (t *tx) done() {
	clear(t.undo) // the items and values it points to
	if cap(t.undo) <= maxKeptUndos {
		t.s.undos = t.undo[:0]
	}
}

// maxKeptUndos bounds the undo list a store keeps between writes.
const maxKeptUndos = 1 << 16

// maxKeptBuf bounds the undo buffer a store keeps between writes.
const maxKeptBuf = 4 << 20

// swap writes key (compare first when cas) and returns its new version
// and item. ref is a store.Swap.Ref (see Store.find).
func (t *tx) swap(key string, ref any, cas bool, expect uint64, val []byte) (uint64, *item, error) {
	s := t.s
	it := s.find(key, ref)
	if cas {
		switch {
		case expect == 0 && it != nil:
			return 0, nil, store.ErrConflict
		case expect != 0 && it == nil:
			return 0, nil, store.ErrNotFound
		case it != nil && it.ver != expect:
			return 0, nil, store.ErrConflict
		}
	}
	s.rev++
	s.buf = appendRecord(s.buf, opPut, s.rev, key, val)
	if it == nil {
		t.undo = append(t.undo, undo{key: key})
		it = &item{val: append([]byte(nil), val...), ver: s.rev, key: key, owner: s}
		s.m[key] = it
		s.added = append(s.added, key)
	} else {
		s.live -= recordSize(it.ver, key, it.val)
		old := it.val
		if cap(it.val) >= len(val) {
			// Overwritten in place (no allocation per write): the undo
			// keeps a copy in the store's undo buffer.
			start := len(s.undoBuf)
			s.undoBuf = append(s.undoBuf, old...)
			old = s.undoBuf[start:len(s.undoBuf):len(s.undoBuf)]
			it.val = append(it.val[:0], val...)
		} else {
			it.val = append([]byte(nil), val...)
		}
		t.undo = append(t.undo, undo{key: key, it: it, val: old, ver: it.ver})
		it.ver = s.rev
	}
	s.live += recordSize(s.rev, key, val)
	return s.rev, it, nil
}

// remove deletes key (compare first when cas) and returns the revision of
// the delete.
func (t *tx) remove(key string, cas bool, expect uint64) (uint64, error) {
	s := t.s
	it := s.m[key]
	if it == nil {
		return 0, store.ErrNotFound
	}
	if cas && it.ver != expect {
		return 0, store.ErrConflict
	}
	s.rev++
	s.buf = appendRecord(s.buf, opDelete, s.rev, key, nil)
	t.undo = append(t.undo, undo{key: key, it: it, val: it.val, ver: it.ver, deleted: true})
	s.live -= recordSize(it.ver, key, it.val)
	delete(s.m, key)
	it.owner = nil
	s.sortedOK = false
	return s.rev, nil
}

// commit appends the records to the log. When the write fails, the file is
// cut back to its last whole record and every change undone; when even
// that fails the store refuses everything from then on.
func (t *tx) commit() error {
	defer t.done()
	s := t.s
	if len(s.buf) == 0 {
		return nil
	}
	if _, err := s.f.Write(s.buf); err != nil {
		t.rollback()
		if terr := s.cutBack(); terr != nil {
			s.failed = fmt.Errorf("the log store %s cannot be written: %w", s.opts.Path, terr)
		}
		return err
	}
	s.size += int64(len(s.buf))
	s.unsync = true
	if s.opts.SyncInterval < 0 {
		if err := s.f.Sync(); err != nil {
			s.failed = fmt.Errorf("the log store %s cannot be synced: %w", s.opts.Path, err)
			return err
		}
		s.unsync = false
	}
	if s.size > s.opts.CompactMinBytes && s.size > 4*s.live && s.size >= s.nextCompact {
		if err := s.compact(); err != nil {
			s.nextCompact = 2 * s.size // not again before the log doubled
			s.log.Warn("cannot compact the log store; it goes on growing", "path", s.opts.Path, "err", err)
		}
	}
	return nil
}

// rollback undoes the changes of t, newest first.
func (t *tx) rollback() {
	s := t.s
	for i := len(t.undo) - 1; i >= 0; i-- {
		u := t.undo[i]
		switch {
		case u.it == nil:
			if it := s.m[u.key]; it != nil {
				it.owner = nil
			}
			delete(s.m, u.key)
		case u.deleted:
			u.it.val, u.it.ver, u.it.owner = u.val, u.ver, s
			s.m[u.key] = u.it
		default:
			// A copy: u.val may be in the undo buffer, which the next
			// write reuses.
			u.it.val, u.it.ver = append([]byte(nil), u.val...), u.ver
		}
	}
	s.rev, s.live, s.sortedOK = t.rev0, t.live0, false
}

// cutBack truncates the log to its last whole record after a failed write
// and puts the write offset there.
func (s *Store) cutBack() error {
	if err := s.f.Truncate(s.size); err != nil {
		return err
	}
	_, err := s.f.Seek(s.size, 0)
	return err
}
