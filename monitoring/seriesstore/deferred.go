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
// them.

// maxKeptSamples: a series' queue is kept for reuse after it is applied
// when its capacity is at most this (a burst's larger one is dropped).
const maxKeptSamples = 64

// deferPoint admits the logged point (t, v) of key and queues it.
func (s *Store) deferPoint(key string, t int64, v float64) error {
	e, err := s.entry(key)
	if err != nil {
		return err
	}
	if err := rrd.Admit(e.spec, e.last, t, v); err != nil {
		return err
	}
	e.last = t
	s.index[key] = e
	s.deferred[key] = append(s.deferred[key], sample{t, v})
	s.deferredN++
	return nil
}

// applySeries applies the waiting points of key to its slot.
func (s *Store) applySeries(key string) error {
	pts := s.deferred[key]
	if len(pts) == 0 {
		return nil
	}
	if cap(pts) <= maxKeptSamples {
		s.deferred[key] = pts[:0] // reused by the series' next points
	} else {
		delete(s.deferred, key)
	}
	s.deferredN -= len(pts)
	e, ok := s.index[key]
	if !ok {
		return fmt.Errorf("cannot apply %d points of series %q: not indexed", len(pts), key)
	}
	if err := s.load(key, e); err != nil {
		return fmt.Errorf("cannot update series %q: %w", key, err)
	}
	for _, p := range pts {
		// Admitted when logged against the same state: refused now
		// means the state is not what the log says.
		if err := rrd.Update(&s.h.Spec, &s.h.State, &s.io, p.t, p.v); err != nil {
			return fmt.Errorf("cannot apply a logged point of series %q at %d: %w", key, p.t, err)
		}
	}
	e.cls.touch(e.ref)
	return encodeHeader(e.cls.slot(e.ref)[:headerSize], &s.h)
}

// applyDeferred applies every waiting point, the series in slot order (the
// writes go through the segment files front to back).
func (s *Store) applyDeferred() error {
	if s.deferredN == 0 {
		return nil
	}
	keys := make([]string, 0, len(s.deferred))
	for k, pts := range s.deferred {
		if len(pts) > 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b string) int {
		ea, eb := s.index[a], s.index[b]
		if c := cmp.Compare(ea.cls.size, eb.cls.size); c != 0 {
			return c
		}
		if c := cmp.Compare(ea.ref.seg, eb.ref.seg); c != 0 {
			return c
		}
		return cmp.Compare(ea.ref.idx, eb.ref.idx)
	})
	for _, k := range keys {
		if err := s.applySeries(k); err != nil {
			return err
		}
	}
	return nil
}
