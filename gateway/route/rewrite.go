package route

import (
	"bytes"
	"fmt"
	"strings"
)

// Rewrite turns the path of a request that matched a route into the path
// sent upstream: the part that matched the route's prefix is replaced by
// another prefix, like nginx's "location /shop/ { proxy_pass
// http://up/new/; }". A new prefix of "/" strips the route's prefix (Kong's
// strip_path).
//
// The rest of the path is passed on as the client sent it, percent-encoding
// and all ("%2F" stays "%2F"), when that raw form decodes to the path the
// router matched (fasthttp's normalized path) and holds no "//", "." or ".."
// segment. Otherwise — the client sent "//", "/./", "/../" or their encoded
// forms — the normalized, decoded path is sent, re-encoded, as nginx does.
// Either way the result starts with the new prefix, never holds "//", and no
// segment of it is "." or ".." even to an upstream that decodes "%2F",
// "%5C" or "\" as a slash or ignores ";parameters" (see SafePath).
//
// Where the new prefix ends in "/" and the rest of the path starts with one,
// one slash is dropped (nginx would send "/new//cart"). A Rewrite is
// immutable and safe for concurrent use.
type Rewrite struct {
	from, to string
}

// NewRewrite returns the Rewrite of a route with path from to the prefix to.
// to must start with "/", hold only characters allowed in a URI path (other
// bytes percent-encoded), no "//", no "." or ".." segment, no encoded slash
// or backslash, and end with "/" when from does (nginx would send
// "/newcart" for "/shop/cart").
func NewRewrite(from, to string) (*Rewrite, error) {
	if !strings.HasPrefix(from, "/") {
		return nil, fmt.Errorf("cannot rewrite route path %q: it must start with /", from)
	}
	if err := CheckPrefix(from, to); err != nil {
		return nil, err
	}
	return &Rewrite{from: from, to: to}, nil
}

// CheckPrefix reports why to cannot replace the route path from, or nil.
func CheckPrefix(from, to string) error {
	if !strings.HasPrefix(to, "/") {
		return fmt.Errorf("must start with /, got %q", to)
	}
	for i := 0; i < len(to); i++ {
		c := to[i]
		switch {
		case c == '%':
			if i+2 >= len(to) || !isHex(to[i+1]) || !isHex(to[i+2]) {
				return fmt.Errorf("holds %% not followed by two hex digits: %q", to)
			}
			if d := unhex(to[i+1])<<4 | unhex(to[i+2]); d == '/' || d == '\\' {
				return fmt.Errorf("must not hold an encoded slash or backslash: %q", to)
			}
			i += 2
		case c != '/' && !pathChar(c):
			return fmt.Errorf("must hold only URI path characters (percent-encode others; no spaces, '?', '#', '\\' or control characters), got %q", to)
		}
	}
	if !SafePath([]byte(to)) {
		return fmt.Errorf(`must not hold "//" or a "." or ".." segment, got %q`, to)
	}
	if strings.HasSuffix(from, "/") && !strings.HasSuffix(to, "/") {
		return fmt.Errorf("must end with / because the route path %q does (%q would turn %scart into %scart)", from, to, from, to)
	}
	return nil
}

// ForwardedPrefix is the X-Forwarded-Prefix an upstream gets: the route's
// path without a trailing slash ("" for the route "/").
func (rw *Rewrite) ForwardedPrefix() string { return strings.TrimSuffix(rw.from, "/") }

// AppendPath appends the upstream path of a request to dst. raw is the path
// as the client sent it (fasthttp's URI.PathOriginal), norm the normalized,
// decoded path the router matched (URI.Path). It reports false, appending
// nothing, when norm does not start with the route's path. It allocates
// only when dst has to grow.
func (rw *Rewrite) AppendPath(dst, raw, norm []byte) ([]byte, bool) {
	n := len(rw.from)
	if len(norm) < n || string(norm[:n]) != rw.from {
		return dst, false
	}
	start := len(dst)
	if at, ok := rawOffset(raw, norm, n); ok {
		dst = rw.join(dst, raw[at:])
		if SafePath(dst[start:]) {
			return dst, true
		}
		dst = dst[:start]
	}
	return rw.rebuild(dst, norm[n:]), true
}

// join appends the new prefix and rest, the raw rest of the path, dropping
// one leading slash (literal or encoded) of rest after a prefix ending in "/".
func (rw *Rewrite) join(dst, rest []byte) []byte {
	dst = append(dst, rw.to...)
	if strings.HasSuffix(rw.to, "/") {
		switch {
		case len(rest) > 0 && rest[0] == '/':
			rest = rest[1:]
		case len(rest) >= 3 && rest[0] == '%' && rest[1] == '2' && (rest[2] == 'F' || rest[2] == 'f'):
			rest = rest[3:]
		}
	}
	return append(dst, rest...)
}

// rebuild appends the new prefix and rest, the decoded rest of the
// normalized path, segment by segment: empty, "." and ".." segments (also
// with ";parameters") are dropped, "\" counts as a slash, each segment is
// percent-encoded (see pathChar), and a trailing slash is kept.
func (rw *Rewrite) rebuild(dst, rest []byte) []byte {
	dst = append(dst, rw.to...)
	// The first piece of rest continues the prefix's last segment unless
	// the prefix ends in "/" (the route "/shop" and "/shopping").
	continues := !strings.HasSuffix(rw.to, "/")
	trailing := false
	for first := true; ; first = false {
		i := indexSep(rest)
		seg := rest
		if i >= 0 {
			seg = rest[:i]
		}
		switch {
		case first && continues:
			dst = appendEscaped(dst, seg)
		case len(seg) == 0 || dotSegment(seg):
			trailing = true
		default:
			if dst[len(dst)-1] != '/' {
				dst = append(dst, '/')
			}
			dst = appendEscaped(dst, seg)
			trailing = false
		}
		if i < 0 {
			break
		}
		rest = rest[i+1:]
	}
	if trailing && dst[len(dst)-1] != '/' {
		dst = append(dst, '/')
	}
	return dst
}

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
