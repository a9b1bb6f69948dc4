package seriesstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/wharfhq/wharf/monitoring/rrd"
)

// slotID names a slot across classes.
type slotID struct {
	size int64
	ref  slotRef
}

// recover migrates a directory of the old layout, replays the write-ahead
// log onto the slots, indexes the series and checkpoints.
func (s *Store) recover() error {
	legacy := filepath.Join(s.opts.Dir, legacyDir)
	migrated := filepath.Join(s.opts.Dir, legacyDoneDir)
	migrating := exists(legacy)
	if migrating {
		// Slots of an interrupted migration: the old files are still the authority.
		if err := os.RemoveAll(s.slotsDir); err != nil {
			return fmt.Errorf("cannot restart the migration of the series files: %w", err)
		}
	}
	if err := os.MkdirAll(s.slotsDir, 0o700); err != nil {
		return fmt.Errorf("cannot open series store: %w", err)
	}
	classes, err := loadClasses(s.slotsDir, s.opts.SegmentBytes)
	if err != nil {
		return err
	}
	s.classes = classes
	legacyDone := !migrating && exists(migrated)
	switch {
	case migrating:
		if err := s.importLegacy(legacy); err != nil {
			return err
		}
	case legacyDone:
		// Committed migration, old log not yet dropped: the slots were made
		// durable before the commit and not written since, so they index
		// cleanly before the old log (which names series by key) replays.
		if err := s.scan(); err != nil {
			return err
		}
	}
	seqs, err := segments(s.walDir)
	if err != nil {
		return err
	}
	paths := make([]string, len(seqs))
	for i, seq := range seqs {
		paths[i] = filepath.Join(s.walDir, segmentName(seq))
	}
	if err := syncLogFiles(paths); err != nil { // sync.go
		return err
	}
	replayed := 0
	covered := make(map[slotID]string)
	var bases []string // the keys of the segment's base images, by number
	for i, seq := range seqs {
		path := paths[i]
		bases = bases[:0]
		good, err := readSegment(path, func(r *record) error {
			replayed++
			if r.kind == kindBase || r.kind == kindSlotBase {
				bases = append(bases, r.h.Key)
			}
			return s.replay(r, covered, bases)
		})
		if errors.Is(err, errTorn) {
			s.log.Warn("write-ahead log ends in a torn or corrupt record; the points after it were never acknowledged",
				"segment", segmentName(seq), "good_bytes", good)
		} else if err != nil {
			return fmt.Errorf("cannot replay write-ahead log: %w", err)
		}
	}
	if err := s.scan(); err != nil {
		return err
	}
	if migrating {
		if err := s.commitMigration(legacy, migrated); err != nil {
			return err
		}
	}
	s.w = &wal{dir: s.walDir, fsyncFile: s.fsyncFile, fsyncs: &s.syncs}
	if len(seqs) > 0 {
		s.w.seq = seqs[len(seqs)-1]
	}
	if err := s.checkpointLocked(); err != nil {
		return fmt.Errorf("cannot checkpoint after recovery: %w", err)
	}
	if migrating || legacyDone {
		if err := os.RemoveAll(migrated); err != nil {
			return fmt.Errorf("cannot remove the migrated series files: %w", err)
		}
	}
	if replayed > 0 {
		s.log.Info("series store recovered", "records", replayed, "series", len(s.index))
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// replay applies one log record: a base image resets the series' header in
// its slot (for a new series the whole slot); a point updates it exactly
// as the first time, so rows a crash tore are written again. covered
// tracks which series each slot holds according to the log; bases are the
// keys of the segment's base images so far, which points name by number.
func (s *Store) replay(r *record, covered map[slotID]string, bases []string) error {
	switch r.kind {
	case kindBase, kindSlotBase:
		key := r.h.Key
		size := slotSize(&r.h.Spec)
		c := s.class(size)
		ref, isNew := r.slot, r.isNew
		if r.kind == kindSlotBase {
			if r.size != size {
				return fmt.Errorf("cannot replay series %q: slot size %d, its spec needs %d: %w", key, r.size, size, errCorrupt)
			}
			if err := c.ensure(ref); err != nil {
				return err
			}
		} else if e := s.index[key]; e != nil && e.cls == c { // the old layout named series by key only
			ref = e.ref
		} else {
			var err error
			if ref, err = c.alloc(); err != nil {
				return err
			}
			isNew = true
		}
		id := slotID{size: size, ref: ref}
		if prev, ok := covered[id]; ok && prev != key {
			if e := s.index[prev]; e != nil && e.cls == c && e.ref == ref {
				delete(s.index, prev) // its slot was freed and reused since
				s.byHash.remove(prev)
				s.sorted = nil
			}
		}
		if e := s.index[key]; e != nil && (e.cls != c || e.ref != ref) {
			// The series moved (its old slot rotted and was freed): free it again.
			clear(e.cls.slot(e.ref)[:headerSize])
			e.cls.touch(e.ref)
			delete(covered, slotID{size: e.cls.size, ref: e.ref})
		}
		slot := c.slot(ref)
		var err error
		if isNew {
			err = initSlot(slot, &r.h)
		} else {
			err = encodeHeader(slot[:headerSize], &r.h)
		}
		if err != nil {
			return err
		}
		c.touch(ref)
		covered[id] = key
		s.addIndex(&r.h, c, ref)
	case kindPoint:
		return s.replayPoint(r.key, r.t, r.v)
	case kindPoints:
		for b := r.pts; len(b) > 0; {
			n, t, v, rest, _ := nextPoint(b) // checked by decodeRecord
			b = rest
			if int(n) >= len(bases) {
				s.log.Warn("write-ahead log point without its base image; skipped", "base", n)
				continue
			}
			if err := s.replayPoint(bases[n], t, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// replayPoint applies a logged point of the series of key again.
func (s *Store) replayPoint(key string, t int64, v float64) error {
	e := s.index[key]
	if e == nil {
		s.log.Warn("write-ahead log point without its series; skipped", "series", key)
		return nil
	}
	err := s.apply(e, t, v)
	if err != nil && !errors.Is(err, rrd.ErrStale) && !errors.Is(err, rrd.ErrSkipped) {
		return err
	}
	return nil
}

// scan indexes the series of every slot not indexed yet and rebuilds the
// free lists. A slot whose header is corrupt (rot, as no log record
// covers it), or that holds a series indexed in another slot, is copied
// aside, reported and freed; the other series are unaffected.
func (s *Store) scan() error {
	owned := make(map[slotID]bool, len(s.index))
	for _, e := range s.index {
		owned[slotID{size: e.cls.size, ref: e.ref}] = true
	}
	sizes := make([]int64, 0, len(s.classes))
	for size := range s.classes {
		sizes = append(sizes, size)
	}
	slices.Sort(sizes)
	for _, size := range sizes {
		c := s.classes[size]
		c.free = c.free[:0]
		for n := len(c.segs) - 1; n >= 0; n-- {
			g := c.segs[n]
			for i := c.slots(g) - 1; i >= 0; i-- {
				ref := slotRef{seg: uint32(n), idx: uint32(i)}
				if owned[slotID{size: size, ref: ref}] {
					continue
				}
				if i >= g.backed { // not in the file yet: free (and not to be touched)
					c.free = append(c.free, ref)
					continue
				}
				hb := c.slot(ref)[:headerSize]
				if isFree(hb) {
					c.free = append(c.free, ref)
					continue
				}
				err := decodeHeaderInto(hb, &s.h, "")
				if err == nil && slotSize(&s.h.Spec) != size {
					err = fmt.Errorf("spec of %d bytes in a slot of %d: %w", slotSize(&s.h.Spec), size, errCorrupt)
				}
				if _, dup := s.index[s.h.Key]; err == nil && dup {
					err = fmt.Errorf("series %q is in another slot too: %w", s.h.Key, errCorrupt)
				}
				if err != nil {
					aside := s.setAside(c, ref)
					if aside == "" {
						return fmt.Errorf("cannot set aside the corrupt slot %d of %s", i, c.segs[n].path)
					}
					s.log.Error("series slot is corrupt; copied aside and freed, the series starts anew",
						"segment", c.segs[n].path, "slot", i, "copied_to", aside, "err", err)
					c.release(ref)
					continue
				}
				s.addIndex(&s.h, c, ref)
			}
		}
	}
	return nil
}
