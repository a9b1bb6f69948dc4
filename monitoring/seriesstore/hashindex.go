package seriesstore

import "hash/maphash"

// hashIndex finds a series by key on Append's path, beside the index map
// (which List, recovery and the rest use): an open-addressing table of
// (64-bit hash of the key, series) pairs with linear probing, the full
// key compared only on a hash match. A lookup of one of 100,000+ keys
// costs cache misses, not instructions: here one slot (16 bytes), then
// the series (needed anyway) and its key; a Go map reads a control word,
// a group of key headers, the key and the value first.
type hashIndex struct {
	seed  maphash.Seed
	slots []hashSlot // a power of two, at most half full
	n     int
}

// hashSlot is one entry; e nil: empty.
type hashSlot struct {
	h uint64
	e *series
}

const minHashSlots = 1024

func newHashIndex() hashIndex {
	return hashIndex{seed: maphash.MakeSeed(), slots: make([]hashSlot, minHashSlots)}
}

func (x *hashIndex) hash(key string) uint64 { return maphash.String(x.seed, key) }

// get returns the series of key, nil when none.
func (x *hashIndex) get(key string) *series { return x.getHashed(x.hash(key), key) }

// getHashed returns the series of key, whose hash is h, nil when none.
func (x *hashIndex) getHashed(h uint64, key string) *series {
	mask := uint64(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		sl := &x.slots[i]
		if sl.e == nil {
			return nil
		}
		if sl.h == h && sl.e.key == key {
			return sl.e
		}
	}
}

// put indexes e by its key, replacing the series of the same key.
func (x *hashIndex) put(e *series) {
	if 2*(x.n+1) > len(x.slots) {
		x.grow()
	}
	h := x.hash(e.key)
	mask := uint64(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		sl := &x.slots[i]
		if sl.e == nil {
			*sl = hashSlot{h: h, e: e}
			x.n++
			return
		}
		if sl.h == h && sl.e.key == e.key {
			sl.e = e
			return
		}
	}
}

// remove drops key (backward-shift deletion: no tombstones).
func (x *hashIndex) remove(key string) {
	h := x.hash(key)
	mask := uint64(len(x.slots) - 1)
	i := h & mask
	for ; ; i = (i + 1) & mask {
		sl := &x.slots[i]
		if sl.e == nil {
			return
		}
		if sl.h == h && sl.e.key == key {
			break
		}
	}
	for j := (i + 1) & mask; x.slots[j].e != nil; j = (j + 1) & mask {
		// The entry at j may move to the hole at i when its home slot
		// is not cyclically within (i, j].
		home := x.slots[j].h & mask
		if (j-home)&mask >= (j-i)&mask {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = hashSlot{}
	x.n--
}

// grow doubles the table.
func (x *hashIndex) grow() {
	old := x.slots
	x.slots = make([]hashSlot, 2*len(old))
	mask := uint64(len(x.slots) - 1)
	for _, sl := range old {
		if sl.e == nil {
			continue
		}
		i := sl.h & mask
		for x.slots[i].e != nil {
			i = (i + 1) & mask
		}
		x.slots[i] = sl
	}
}

// home is the series in the home slot of hash h (maybe another key's, or nil).
func (x *hashIndex) home(h uint64) *series { return x.slots[h&uint64(len(x.slots)-1)].e }

// prefetchPoints is how many points Append prefetches at a time: enough
// misses under way at once, few enough for what they read to stay cached
// until the points are logged.
const prefetchPoints = 256

// prefetch hashes the keys of points and reads, for each point, what
// logging and queueing it reads next: its home slot, then the series
// there, its key's first byte and the last chunk of its queue. A point's
// lookup is a chain of cache misses (slot, series, key, queue; one of
// 100,000+ series each), but the points' chains are independent: read
// point after point in short loops, the misses of many points are under
// way at once instead of one after the other. Nothing is decided on what
// it reads: it only warms the CPU's cache. It returns the hashes; homes
// is scratch (len(points), left nil).
func (s *Store) prefetch(points []Point, homes []*series) []uint64 {
	n := len(points)
	hs := s.hs[:0]
	if cap(hs) < n {
		hs = make([]uint64, n)
	}
	hs = hs[:n]
	for i := range points {
		hs[i] = s.byHash.hash(points[i].Key)
	}
	for i, h := range hs {
		homes[i] = s.byHash.home(h)
	}
	sink := s.sink
	for _, e := range homes {
		if e != nil && len(e.key) > 0 {
			sink += uint64(e.key[0])
		}
	}
	for _, e := range homes {
		if e != nil && e.samples.tail != nil {
			sink += uint64(e.samples.tail.n)
		}
	}
	clear(homes)
	s.sink, s.hs = sink, hs
	return hs
}
