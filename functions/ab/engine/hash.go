package engine

import (
	"strconv"
	"unicode/utf8"
)

const (
	fnvOffset32 uint32 = 0x811c9dc5
	fnvPrime32  uint32 = 0x01000193
)

// Hash maps value, salted with seed, to a number in [0,1) as GrowthBook
// does: version 1 is fnv32a(value+seed) % 1000 / 1000 (the original,
// slightly biased hash), version 2 is
// fnv32a(decimal(fnv32a(seed+value))) % 10000 / 10000. Any other version
// returns false. FNV-1a runs over the UTF-16 code units of the strings,
// as JavaScript's charCodeAt sees them. It does not allocate.
func Hash(seed, value string, version int) (float64, bool) {
	switch version {
	case 2:
		h := fnv16(fnv16(fnvOffset32, seed), value)
		var buf [10]byte
		d := strconv.AppendUint(buf[:0], uint64(h), 10)
		h2 := fnvOffset32
		for _, b := range d {
			h2 = (h2 ^ uint32(b)) * fnvPrime32
		}
		return float64(h2%10000) / 10000, true
	case 1:
		h := fnv16(fnv16(fnvOffset32, value), seed)
		return float64(h%1000) / 1000, true
	default:
		return 0, false
	}
}

// fnv16 continues the FNV-1a hash h over the UTF-16 code units of s. A
// byte sequence that is not valid UTF-8 counts as U+FFFD, as a decoder
// turning those bytes into a JavaScript string would make it.
func fnv16(h uint32, s string) uint32 {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			h = (h ^ uint32(c)) * fnvPrime32
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r >= 0x10000 {
			r -= 0x10000
			h = (h ^ uint32(0xd800+(r>>10))) * fnvPrime32
			h = (h ^ uint32(0xdc00+(r&0x3ff))) * fnvPrime32
			continue
		}
		h = (h ^ uint32(r)) * fnvPrime32
	}
	return h
}
