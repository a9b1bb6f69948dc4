package metric

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// Byte-parallel constants: a byte of ones and a byte of high bits in every byte of a word.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// specialBytes marks (with its high bit) every byte of w a JSON string
// cannot hold as it is: '"', '\\' and control characters (< 0x20). Bytes
// above a marked one may be marked falsely (borrows); the lowest mark is
// always right.
func specialBytes(w uint64) uint64 {
	q := w ^ (ones * '"')
	s := w ^ (ones * '\\')
	return (((q - ones) &^ q) | ((s - ones) &^ s) | ((w - ones*0x20) &^ w)) & highs
}

// plainEnd returns the index of the first byte of b at or after i that is
// '"', '\\' or a control character, or len(b), eight bytes at a time; high
// has the high bit of a byte set when a byte before it is not ASCII.
func plainEnd(b []byte, i int) (end int, high uint64) {
	for ; len(b)-i >= 8; i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		if m := specialBytes(w); m != 0 {
			n := bits.TrailingZeros64(m) >> 3
			return i + n, high | w&(1<<(8*n)-1)
		}
		high |= w
	}
	for ; i < len(b); i++ {
		c := b[i]
		if c == '"' || c == '\\' || c < 0x20 {
			return i, high
		}
		high |= uint64(c)
	}
	return i, high
}

// str reads a JSON string; the result aliases the body or the scratch
// buffer and is valid until the next call. d.plain says whether it is the
// body's bytes between the quotes as they are (no escapes, valid UTF-8).
func (d *decoder) str() ([]byte, error) {
	if !d.eat('"') {
		return nil, d.errf("expected a string")
	}
	start := d.i
	i, high := plainEnd(d.b, start)
	if i >= len(d.b) {
		d.i = len(d.b)
		return nil, d.errf("unterminated string")
	}
	switch d.b[i] {
	case '"':
		d.i = i + 1
		if high&highs != 0 && !utf8.Valid(d.b[start:i]) {
			d.plain = false
			return []byte(string([]rune(string(d.b[start:i])))), nil
		}
		d.plain = true
		return d.b[start:i], nil
	case '\\':
		d.plain = false
		return d.strSlow(start)
	}
	d.i = i
	return nil, d.errf("control character in a string")
}
