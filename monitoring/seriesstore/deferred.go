package seriesstore

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/wharfhq/wharf/monitoring/rrd"
)

// sample is a logged point waiting to be applied to its series' slot.
type sample struct {
	t int64
	v float64
}

// Deferred application, as rrdcached and Open-Falcon's graph do it: the
// points of an Update are durable once the log is fsynced, so they need
// not be written into their slots at once. They wait in memory, per
// series, and are applied many at a time: a series that took 20 points
// since has its header decoded and encoded once instead of 20 times, and
// its archives' pages are written once, not dirtied again after every
// writeback (each point writes up to 13 archive rows in different pages).
// Whether a point is accepted, stale or skipped is decided when it is
// logged (rrd.Admit on the series' newest accepted time), so Update's
// result does not wait. The points are applied when MaxDeferredPoints are
// waiting, at every checkpoint (before the log segment that holds them
// goes) and for one series before it is read (Fetch, Info), so every read
// sees every acknowledged point. A crash loses nothing: the log replays
// them. The passes that apply them run beside Append (pass.go).

// deferPoint admits the logged point (t, v) of series e and queues it.
func (s *Store) deferPoint(e *series, t int64, v float64) error {
	if err := rrd.Admit(e.spec, e.last, t, v); err != nil {
		return err
	}
	e.last = t
	if !e.queued {
		e.queued = true
		s.dirty = append(s.dirty, e)
	}
	e.samples.push(&s.chunks, sample{t, v}) // queue.go
	s.deferredN++
	return nil
}

// applySeries applies every waiting point of series e to its slot: those
// an apply pass took (and has not applied yet) first, then the newer ones.
func (s *Store) applySeries(e *series) error {
	if e.applying.n == 0 && e.samples.n == 0 {
		return nil
	}
	if s.needsSync(e) {
		if err := s.syncLog(); err != nil { // the write-ahead rule (sync.go)
			return err
		}
	}
	if err := s.applyTaken(e); err != nil {
		return err
	}
	if e.samples.n == 0 {
		return nil
	}
	s.deferredN -= e.samples.n
	return s.applyPoints(e, &e.samples)
}

// needsSync (under the lock) reports whether applying the waiting points
// of series e, or reading it, needs a sync of the log first: it is new
// and not in its slot yet, or the records of its points (which come after
// its base image) are not all synced. Taken points of an older log
// segment are synced (a segment is synced before the next starts), and
// only a checkpoint's pass takes them (pass.go).
func (s *Store) needsSync(e *series) bool {
	if e.pend != nil {
		return true
	}
	if e.applying.n == 0 && e.samples.n == 0 {
		return false
	}
	return e.logged == s.epoch && e.end > s.w.synced
}

// applyTaken applies the points an apply pass took from series e (pass.go),
// which are synced: the pass syncs the log before it applies any.
func (s *Store) applyTaken(e *series) error {
	if e.applying.n == 0 {
		return nil
	}
	if e.pend != nil { // not in its slot yet (cannot happen: the sync wrote it)
		if err := s.syncLog(); err != nil {
			return err
		}
	}
	s.takenN -= e.applying.n
	return s.applyPoints(e, &e.applying)
}

// applyPoints applies q, logged and synced points of series e, to its
// slot, and empties q.
func (s *Store) applyPoints(e *series, q *queue) error {
	defer s.chunks.put(q)
	if err := s.load(e); err != nil {
		return fmt.Errorf("cannot update series %q: %w", e.key, err)
	}
	for c := q.head; c != nil; c = c.next {
		for _, p := range c.pts[:c.n] {
			// Admitted when logged against the same state: refused
			// now means the state is not what the log says.
			if err := rrd.Update(&s.h.Spec, &s.h.State, &s.io, p.t, p.v); err != nil {
				return fmt.Errorf("cannot apply a logged point of series %q at %d: %w", e.key, p.t, err)
			}
		}
	}
	e.cls.touch(e.ref)
	return encodeHeader(e.cls.slot(e.ref)[:headerSize], &s.h)
}

// applyDeferred applies every waiting point of the series queued since
// the last pass took them, under the store's lock (at Open and Close,
// which no pass runs beside).
func (s *Store) applyDeferred() error {
	dirty := s.dirty
	defer func() {
		clear(dirty)
		s.dirty = dirty[:0]
	}()
	for _, e := range dirty {
		e.queued = false
	}
	if s.deferredN == 0 {
		return nil
	}
	inSlotOrder(dirty)
	for _, e := range dirty {
		if e.gone {
			continue
		}
		if err := s.applySeries(e); err != nil {
			return err
		}
	}
	return nil
}

// applySynced (under the lock) applies the waiting points of the series
// whose log records are all synced, oldest queued first, until fewer
// than target wait: an Append's share of the work when points come
// faster than passes apply them (a pass in progress skips what it took
// of them). It fsyncs nothing: a series with unsynced records waits.
func (s *Store) applySynced(target int) error {
	kept := s.dirty[:0]
	var err error
	for _, e := range s.dirty {
		switch {
		case e.gone:
			e.queued = false
		case err == nil && s.deferredN >= target && !s.needsSync(e):
			e.queued = false
			err = s.applySeries(e)
		default:
			kept = append(kept, e)
		}
	}
	clear(s.dirty[len(kept):])
	s.dirty = kept
	return err
}

// relieve (not holding the lock) is the rest of an Append's share when
// the series it could apply without an fsync were not enough: it syncs
// the log without the lock, as Sync does (Appends and reads go on), then
// applies synced series until fewer than target points wait.
func (s *Store) relieve(target int) error {
	err := s.Sync()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed == ErrClosed { //nolint:errorlint // Close, not a failure: its checkpoint applied the points
		return nil
	}
	if err != nil {
		return err
	}
	if s.closed != nil {
		return s.closed
	}
	if err := s.applySynced(target); err != nil {
		return s.fail(err)
	}
	return nil
}

// inSlotOrder sorts series by slot, so that applying them writes the
// segment files front to back.
func inSlotOrder(list []*series) {
	slices.SortFunc(list, func(a, b *series) int {
		if c := cmp.Compare(a.cls.size, b.cls.size); c != 0 {
			return c
		}
		if c := cmp.Compare(a.ref.seg, b.ref.seg); c != 0 {
			return c
		}
		return cmp.Compare(a.ref.idx, b.ref.idx)
	})
}
