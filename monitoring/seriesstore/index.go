package seriesstore

import (
	"github.com/wharfhq/wharf/monitoring/rrd"
)

// series is what the store keeps in memory per series, everything an
// Update needs of it behind one lookup of its key: the index maps a key to
// it, and a point logged in an Update keeps it until the point is applied
// (no second lookup; a map of 100,000+ string keys costs a cache miss or
// two per lookup).
type series struct {
	key  string
	step int64
	typ  rrd.DSType // as pushed first
	cls  *class
	ref  slotRef
	// spec is the stored data source type and last the time of the
	// series' newest accepted point, applied or deferred (rrd.Admit).
	spec rrd.DSType
	last int64
	// logged is the log epoch (Store.epoch, one per write-ahead log
	// segment) in which the series' base image was logged: its points
	// need one first when it is not the current one. base is the number
	// of that base image in the segment, which its points name.
	logged uint64
	base   uint32
	// end is where the log records of the series' newest point end in
	// the current segment (Store.w.size after the Append that logged
	// it): its waiting points need no sync once w.synced reaches it.
	end int64
	// samples are the logged points not applied to the slot yet
	// (deferred.go); queued: the series is in Store.dirty.
	samples queue
	queued  bool
	// applying are the points an apply pass took from samples and has
	// not applied yet (pass.go); they come before samples.
	applying queue
	// pend is set while the series is logged as new and not yet written
	// into its slot (until the log holding its base image is synced;
	// not indexed either during the Append that logs it).
	pend *header
	// gone: quarantined (no longer indexed); its queued entry is skipped.
	gone bool
}

// materialize writes a series logged as new into its slot, once the log
// that holds its base image is synced (it is indexed already).
func (s *Store) materialize(e *series) error {
	if err := initSlot(e.cls.slot(e.ref), e.pend); err != nil {
		return err
	}
	e.cls.touch(e.ref)
	e.pend = nil
	return nil
}

// addIndex indexes the series of header h in slot r of class c (recovery,
// migration), updating its entry when the key is indexed already.
func (s *Store) addIndex(h *header, c *class, r slotRef) {
	e := s.index[h.Key]
	if e == nil {
		e = &series{key: h.Key}
		s.index[h.Key] = e
		s.byHash.put(e)
		s.sorted = nil
	}
	e.step, e.typ, e.cls, e.ref = h.Spec.Step, h.CounterType, c, r
	e.spec, e.last = h.Spec.Type, h.State.LastUp
}
