package rooms

import (
	"encoding/binary"
	"math"
	"slices"
)

// Chooser picks a room per request from a Distribution. It is immutable
// once built, so the gateway swaps a new one in with atomic.Pointer when
// the distribution changes; Pick and PickSticky do not allocate and are
// safe for concurrent use.
type Chooser struct {
	rooms []string  // rooms with a positive share, sorted
	cum   []uint64  // Pick: room i takes rnd < cum[i]
	inv   []float64 // PickSticky: 1 / share
	seeds []uint64  // PickSticky: hash of the room name
}

// NewChooser returns a Chooser over the rooms of d with a positive share.
// Shares need not sum to 1; NaN, infinite and negative ones count as 0.
func NewChooser(d Distribution) *Chooser {
	c := &Chooser{}
	var total float64
	for r, s := range d {
		if s > 0 && !math.IsInf(s, 0) {
			c.rooms = append(c.rooms, r)
			total += s
		}
	}
	slices.Sort(c.rooms)
	acc := 0.0
	for i, r := range c.rooms {
		s := d[r] / total
		acc += s
		cut := uint64(math.MaxUint64)
		if v := acc * 0x1p64; i < len(c.rooms)-1 && v < 0x1p64 {
			cut = uint64(v)
		}
		c.cum = append(c.cum, cut)
		c.inv = append(c.inv, 1/s)
		c.seeds = append(c.seeds, hashKey([]byte(r)))
	}
	return c
}

// Len is the number of rooms the Chooser picks from.
func (c *Chooser) Len() int { return len(c.rooms) }

// Room is the name of room i, 0 <= i < Len(); rooms are sorted by name.
func (c *Chooser) Room(i int) string { return c.rooms[i] }

// Rooms is the rooms the Chooser picks from, sorted; do not modify.
func (c *Chooser) Rooms() []string { return c.rooms }

// Pick returns a room at random with probability its share, given a
// uniformly random rnd (e.g. math/rand/v2.Uint64()); "" if there is none.
func (c *Chooser) Pick(rnd uint64) string {
	if i := c.PickIndex(rnd); i >= 0 {
		return c.rooms[i]
	}
	return ""
}

// PickIndex is Pick returning the room's index, or -1.
func (c *Chooser) PickIndex(rnd uint64) int {
	n := len(c.cum)
	for i := 0; i < n-1; i++ {
		if rnd < c.cum[i] {
			return i
		}
	}
	return n - 1
}

// PickSticky returns the room of a client key (a client IP, a session
// cookie) by weighted rendezvous hashing; "" if there is none. Each room
// scores -ln(u)/share, u being a uniform hash of key and room in (0, 1),
// and the lowest score wins: a key lands in a room with probability its
// share, and when shares change a key moves only if it must, into a room
// whose share rose or out of one whose share fell (raising sh from 10 % to
// 50 % moves 40 % of keys, all from other rooms into sh). The hash has a
// fixed seed, so every gateway node and every restart maps a key alike.
func (c *Chooser) PickSticky(key []byte) string {
	if i := c.PickStickyIndex(key); i >= 0 {
		return c.rooms[i]
	}
	return ""
}

// PickStickyIndex is PickSticky returning the room's index, or -1.
func (c *Chooser) PickStickyIndex(key []byte) int {
	switch len(c.rooms) {
	case 0:
		return -1
	case 1:
		return 0
	}
	kh := hashKey(key)
	best, bestScore := 0, math.Inf(1)
	for i, seed := range c.seeds {
		x := mix64(kh ^ seed)
		u := (float64(x>>11) + 0.5) * 0x1p-53 // (0, 1)
		if s := -math.Log(u) * c.inv[i]; s < bestScore {
			best, bestScore = i, s
		}
	}
	return best
}

// Hash constants (xxHash64 primes).
const (
	prime1 = 0x9E3779B185EBCA87
	prime2 = 0xC2B2AE3D27D4EB4F
	prime3 = 0x165667B19E3779F9
)

// hashKey is a fixed-seed 64-bit hash of b, eight bytes at a time.
func hashKey(b []byte) uint64 {
	h := uint64(len(b))*prime1 ^ prime3
	for len(b) >= 8 {
		h ^= mix64(binary.LittleEndian.Uint64(b) * prime2)
		h = (h<<27 | h>>37) * prime1
		b = b[8:]
	}
	var tail uint64
	for i := len(b) - 1; i >= 0; i-- {
		tail = tail<<8 | uint64(b[i])
	}
	h ^= mix64(tail*prime2 ^ uint64(len(b)))
	return mix64(h)
}

// mix64 is the splitmix64 finaliser: every input bit affects every output
// bit.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	x *= 0x94D049BB133111EB
	x ^= x >> 31
	return x
}
