package route

import (
	"bytes"
	"strings"
)

// rawOffset walks raw, decoding percent-escapes the way fasthttp does, along
// norm. It returns the offset in raw where the first n bytes of norm end,
// and whether all of raw decodes to exactly norm (no normalization was
// needed).
func rawOffset(raw, norm []byte, n int) (int, bool) {
	if len(raw) == 0 || raw[0] != '/' {
		return 0, false
	}
	at, j := -1, 0
	for i := 0; i < len(raw); {
		if j == n {
			at = i
		}
		c, step := decodeAt(raw, i)
		if j >= len(norm) || norm[j] != c {
			return 0, false
		}
		i += step
		j++
	}
	if j == n {
		at = len(raw)
	}
	return at, j == len(norm) && at >= 0
}

// decodeAt returns the byte at p[i] and how many bytes of p it takes: a
// valid %XX escape is one decoded byte, anything else stands for itself.
func decodeAt(p []byte, i int) (byte, int) {
	if p[i] == '%' && i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]) {
		return unhex(p[i+1])<<4 | unhex(p[i+2]), 3
	}
	return p[i], 1
}

// SafePath reports whether p, an absolute URI path, has no empty segment
// ("//", a trailing slash aside) and no "." or ".." segment, reading it as
// the most lenient upstream would: percent-escapes decoded, "\" as a slash,
// and a segment's ";parameters" ignored ("..;x" is "..").
func SafePath(p []byte) bool {
	if len(p) == 0 || p[0] != '/' {
		return false
	}
	segLen, dots, allDots, inName := 0, 0, true, true
	for i := 1; i <= len(p); {
		end := i == len(p)
		var c byte
		step := 1
		if !end {
			c, step = decodeAt(p, i)
		}
		if end || c == '/' || c == '\\' {
			if segLen == 0 && !end {
				return false
			}
			if allDots && (dots == 1 || dots == 2) {
				return false
			}
			if end {
				return true
			}
			segLen, dots, allDots, inName = 0, 0, true, true
			i += step
			continue
		}
		segLen++
		switch {
		case !inName:
		case c == ';':
			inName = false
		case c == '.':
			dots++
		default:
			allDots = false
		}
		i += step
	}
	return true
}

// dotSegment reports whether seg, a decoded path segment, is "." or ".."
// (optionally followed by ";parameters").
func dotSegment(seg []byte) bool {
	if i := bytes.IndexByte(seg, ';'); i >= 0 {
		seg = seg[:i]
	}
	return string(seg) == "." || string(seg) == ".."
}

func indexSep(p []byte) int {
	for i, c := range p {
		if c == '/' || c == '\\' {
			return i
		}
	}
	return -1
}

// appendEscaped appends seg percent-encoded: every byte but pathChar ones.
func appendEscaped(dst, seg []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, c := range seg {
		if pathChar(c) {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', hex[c>>4], hex[c&15])
	}
	return dst
}

// pathChar reports whether c may stand unencoded in a path segment (RFC 3986
// pchar without "%": unreserved, sub-delims, ":" and "@").
func pathChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
