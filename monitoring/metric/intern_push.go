package metric

import "encoding/binary"

// pushInternBits is log2 of how many pairs of slots a pushInterner has.
const pushInternBits = 6

// pushInternPairs is how many pairs of slots a pushInterner has.
const pushInternPairs = 1 << pushInternBits

// pushInterner remembers strings of one field seen in a push, for the
// push decoder, in 64 pairs of slots picked by a hash of their words: an
// agent's push cycles through tens of metrics and tag sets that differ
// anywhere, often only in the middle ("iface=eth0,mount=/data1"), so most
// items allocate none. A pair keeps its two most recently used strings,
// the latest first.
type pushInterner [pushInternPairs][2]string

// intern returns the remembered string equal to b, else b as a new string
// that takes its pair's first slot.
func (r *pushInterner) intern(b []byte) string {
	pair := &r[wordHash(b)>>(64-pushInternBits)]
	if pair[0] == string(b) {
		return pair[0]
	}
	if pair[1] == string(b) {
		pair[0], pair[1] = pair[1], pair[0]
		return pair[0]
	}
	s := string(b)
	pair[0], pair[1] = s, pair[0]
	return s
}

// wordHash hashes b by its length and three of its 8-byte words: the
// first, the middle and the last (they overlap in strings under 24 bytes
// and cover all of them); the three multiplies run side by side.
func wordHash(b []byte) uint64 {
	n := len(b)
	var first, mid, last uint64
	if n >= 8 {
		first = binary.LittleEndian.Uint64(b)
		mid = binary.LittleEndian.Uint64(b[(n-8)/2:])
		last = binary.LittleEndian.Uint64(b[n-8:])
	} else {
		for j := n - 1; j >= 0; j-- {
			first = first<<8 | uint64(b[j])
		}
	}
	// Three multiplies side by side, then one more after a fold: every
	// bit of the words reaches the top bits, which intern takes.
	h := first*0x9e3779b97f4a7c15 ^ mid*0xc2b2ae3d27d4eb4f ^ last*0x165667b19e3779f9 ^ uint64(n)
	return (h ^ h>>32) * 0xff51afd7ed558ccd
}
