package route

import "bytes"

// Ambiguous reports whether p, a normalized request path, holds a byte that
// some upstreams read differently from the router: ";" (Tomcat and other
// servlet containers ignore a segment's ";parameters") or "\" (IIS and
// others take it for "/"). Such a path is checked with AppendLenient; it
// is a byte scan and does not allocate.
func Ambiguous(p []byte) bool {
	return bytes.IndexByte(p, ';') >= 0 || bytes.IndexByte(p, '\\') >= 0
}

// AppendLenient appends norm, a normalized (decoded) path, as the most
// lenient upstream reads what the gateway sends for it (see Rewrite): "\"
// taken as "/", each segment's ";parameters" dropped, and empty, "." and
// ".." segments dropped, as the upstream path never holds them. A trailing
// slash is kept. The result is decoded, like norm, for Table.Match.
func AppendLenient(dst, norm []byte) []byte {
	dst = append(dst, '/')
	trailing := false
	for len(norm) > 0 {
		i := indexSep(norm)
		seg := norm
		if i >= 0 {
			seg = norm[:i]
		}
		for j, c := range seg {
			if c == ';' {
				seg = seg[:j]
				break
			}
		}
		switch {
		case len(seg) == 0 || dotSegment(seg):
			trailing = true
		default:
			if dst[len(dst)-1] != '/' {
				dst = append(dst, '/')
			}
			dst = append(dst, seg...)
			trailing = false
		}
		if i < 0 {
			break
		}
		norm = norm[i+1:]
		trailing = true
	}
	if trailing && dst[len(dst)-1] != '/' {
		dst = append(dst, '/')
	}
	return dst
}
