// Package jsonesc decodes the \u escape of JSON strings (RFC 8259 §7),
// UTF-16 surrogate pairs included, exactly as encoding/json does: a valid
// high/low pair is one code point, any other surrogate is U+FFFD and the
// escape after it is left for the caller to decode on its own.
//
// It is the one decoder of \u shared by Wharf's hand-written JSON parsers
// (monitoring/metric's push decoder, functions/ab's decide request parser);
// each keeps its own string loop, errors and positions.
package jsonesc

import (
	"unicode/utf16"
	"unicode/utf8"
)

// DecodeU decodes the \u escape whose four hex digits begin b (b starts just
// after the `\u`). It returns the code point and how many bytes of b it
// used:
//
//   - 0: b does not start with four hex digits (too short or a non-hex
//     byte); the escape is invalid and r is 0.
//   - 10: a high surrogate followed by `\u` and a low surrogate; r is the
//     code point of the pair.
//   - 4: anything else. A surrogate that is not the first half of a valid
//     pair gives utf8.RuneError; whatever follows it (a second \u escape,
//     valid or not) is the caller's to decode next.
func DecodeU(b []byte) (r rune, n int) {
	r, ok := hex4(b)
	if !ok {
		return 0, 0
	}
	if !utf16.IsSurrogate(r) {
		return r, 4
	}
	if len(b) >= 10 && b[4] == '\\' && b[5] == 'u' {
		if r2, ok := hex4(b[6:]); ok {
			if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
				return d, 10
			}
		}
	}
	return utf8.RuneError, 4
}

// hex4 decodes four hex digits (either case) at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}
