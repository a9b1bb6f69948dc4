package judge

import "hash/maphash"

// seriesTable finds a shard's series by PK on the batch path: an
// open-addressing table of (64-bit hash of the PK, series) pairs with
// linear probing, the PK compared only on a hash match, through the
// series (which the batch reads anyway). A lookup among a shard's 12,500+
// series costs cache misses, not instructions: a Go map reads a control
// word, a slot of key headers, the key's bytes (an allocation of their
// own) and then the series; here one 16-byte slot, then the series and
// its PK. The seed is the table's own (maphash.MakeSeed): the hashes of
// pushed names cannot be chosen to collide.
type seriesTable struct {
	seed  maphash.Seed
	slots []seriesSlot // a power of two, at most half full
	n     int
}

// seriesSlot is one entry; s nil: empty.
type seriesSlot struct {
	h uint64
	s *seriesInfo
}

const minSeriesSlots = 256

func newSeriesTable() seriesTable {
	return seriesTable{seed: maphash.MakeSeed(), slots: make([]seriesSlot, minSeriesSlots)}
}

// hash is the table's hash of a PK.
func (x *seriesTable) hash(pk []byte) uint64 { return maphash.Bytes(x.seed, pk) }

// len is the number of series in the table.
func (x *seriesTable) len() int { return x.n }

// get returns the series of pk (hashed to h), nil when none.
func (x *seriesTable) get(h uint64, pk []byte) *seriesInfo {
	mask := uint64(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		sl := &x.slots[i]
		if sl.s == nil {
			return nil
		}
		if sl.h == h && sl.s.pk == string(pk) { // no allocation for the comparison
			return sl.s
		}
	}
}

// home returns the series in the slot h starts probing at (nil: empty),
// which may not be the one of h.
func (x *seriesTable) home(h uint64) *seriesInfo {
	return x.slots[h&uint64(len(x.slots)-1)].s
}

// add puts s (hashed to h), whose PK is not in the table.
func (x *seriesTable) add(h uint64, s *seriesInfo) {
	if 2*(x.n+1) > len(x.slots) {
		x.grow()
	}
	x.place(seriesSlot{h: h, s: s})
	x.n++
}

// place puts sl in the first empty slot from its home.
func (x *seriesTable) place(sl seriesSlot) {
	mask := uint64(len(x.slots) - 1)
	i := sl.h & mask
	for x.slots[i].s != nil {
		i = (i + 1) & mask
	}
	x.slots[i] = sl
}

// grow doubles the table.
func (x *seriesTable) grow() {
	old := x.slots
	x.slots = make([]seriesSlot, 2*len(old))
	for _, sl := range old {
		if sl.s != nil {
			x.place(sl)
		}
	}
}

// reset forgets every series, keeping the table's size (a shard whose
// series outgrew MaxCachedStates: they come back).
func (x *seriesTable) reset() {
	clear(x.slots)
	x.n = 0
}
