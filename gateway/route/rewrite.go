package route

import (
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
// one slash is dropped (nginx would send "/new//cart"); where it does not,
// an encoded slash right after the route's path is sent as "/", so that an
// upstream that keeps "%2F" inside a segment splits the path where the
// router did. A Rewrite is immutable and safe for concurrent use.
//
// Keep returns the Rewrite of a route that does not change the path: the
// same rules, without X-Forwarded-Prefix.
type Rewrite struct {
	from, to string
	keep     bool // Keep: to is from, spelled as a URI path
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
// nothing, when norm does not start with the route's path (AppendClean
// then gives a safe path). It allocates only when dst has to grow.
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

// join appends the new prefix and rest, the raw rest of the path. After a
// prefix ending in "/" one leading slash (literal or encoded) of rest is
// dropped; after another prefix a leading encoded slash becomes "/".
func (rw *Rewrite) join(dst, rest []byte) []byte {
	dst = append(dst, rw.to...)
	switch {
	case strings.HasSuffix(rw.to, "/") && len(rest) > 0 && rest[0] == '/':
		rest = rest[1:]
	case encodedSlash(rest):
		rest = rest[3:]
		if !strings.HasSuffix(rw.to, "/") {
			dst = append(dst, '/')
		}
	}
	return append(dst, rest...)
}

// encodedSlash reports whether p starts with "%2F" (any case).
func encodedSlash(p []byte) bool {
	return len(p) >= 3 && p[0] == '%' && p[1] == '2' && (p[2] == 'F' || p[2] == 'f')
}

// rebuild appends the new prefix and rest, the decoded rest of the
// normalized path, segment by segment: empty, "." and ".." segments (also
// with ";parameters") are dropped, "\" counts as a slash, each segment is
// percent-encoded (see pathChar), and a trailing slash is kept.
func (rw *Rewrite) rebuild(dst, rest []byte) []byte {
	return appendRebuilt(dst, rw.to, rest)
}

// appendRebuilt appends prefix and then rest as rebuild describes.
func appendRebuilt(dst []byte, prefix string, rest []byte) []byte {
	dst = append(dst, prefix...)
	// The first piece of rest continues the prefix's last segment unless
	// the prefix ends in "/" (the route "/shop" and "/shopping").
	continues := !strings.HasSuffix(prefix, "/")
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
