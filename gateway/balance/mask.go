package balance

import "math/bits"

// Mask is a set of instance indexes: bit i%64 of word i/64 stands for
// instance i. A nil Mask allows every instance. Bits at or above a
// balancer's instance count are ignored.
type Mask []uint64

// MaskWords is the number of words a Mask over n instances needs.
func MaskWords(n int) int { return (n + 63) / 64 }

// Fill sets m to exactly the instances 0..n-1 (bits above n cleared) and
// returns it; m must have at least MaskWords(n) words.
func (m Mask) Fill(n int) Mask {
	for w := range m {
		switch lo := w * 64; {
		case n >= lo+64:
			m[w] = ^uint64(0)
		case n > lo:
			m[w] = 1<<uint(n-lo) - 1
		default:
			m[w] = 0
		}
	}
	return m
}

// Has reports whether instance i is in m. Every index is in a nil Mask.
func (m Mask) Has(i int) bool {
	if m == nil {
		return true
	}
	w := i >> 6
	return i >= 0 && w < len(m) && m[w]&(1<<(uint(i)&63)) != 0
}

// Set adds instance i to m, which must be long enough.
func (m Mask) Set(i int) { m[i>>6] |= 1 << (uint(i) & 63) }

// Clear removes instance i from m, which must be long enough.
func (m Mask) Clear(i int) { m[i>>6] &^= 1 << (uint(i) & 63) }

// And removes from m every instance not in o and returns m. A nil o
// changes nothing; m must not be nil.
func (m Mask) And(o Mask) Mask {
	if o == nil {
		return m
	}
	for w := range m {
		if w < len(o) {
			m[w] &= o[w]
		} else {
			m[w] = 0
		}
	}
	return m
}

// count is the number of instances below n in m (m not nil).
func (m Mask) count(n int) int {
	c := 0
	full := n >> 6
	for w := 0; w < full && w < len(m); w++ {
		c += bits.OnesCount64(m[w])
	}
	if r := uint(n) & 63; r != 0 && full < len(m) {
		c += bits.OnesCount64(m[full] & (1<<r - 1))
	}
	return c
}

// nth is the index of the k-th (from 0) instance in m; k < m.count(n) for
// the balancer's n, so the result is below n.
func (m Mask) nth(k int) int {
	for w, word := range m {
		c := bits.OnesCount64(word)
		if k < c {
			return w<<6 + select64(word, k)
		}
		k -= c
	}
	return -1
}

// select64 is the position of the k-th (from 0) set bit of w, k < popcount(w),
// by binary search on popcounts of halves.
func select64(w uint64, k int) int {
	pos := 0
	for _, s := range [...]uint{32, 16, 8, 4, 2, 1} {
		if lo := bits.OnesCount64(w & (1<<s - 1)); k >= lo {
			k -= lo
			w >>= s
			pos += int(s)
		}
	}
	return pos
}
