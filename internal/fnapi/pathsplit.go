package fnapi

import "strings"

// maxSplit is how many segments of a request path splitPath keeps; a
// longer path is matched route by route with match.
const maxSplit = 16

// pathParts is a request path split once into its segments, so that each
// route compares segments instead of scanning the path again: most routes
// are ruled out by the segment count or their first literal.
type pathParts struct {
	n     int
	over  bool // more than maxSplit segments
	parts [maxSplit]string
}

// splitPath splits path as match reads it: trimmed of slashes at both
// ends, then cut at every slash.
func splitPath(path string, pp *pathParts) {
	rest := strings.Trim(path, "/")
	for {
		if pp.n == maxSplit {
			pp.over = true
			return
		}
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			pp.parts[pp.n] = rest
			pp.n++
			return
		}
		pp.parts[pp.n] = rest[:j]
		pp.n++
		rest = rest[j+1:]
	}
}

// matchParts is match(c.segments, path) over the path split into pp. It
// allocates only for a match with parameters, once.
func matchParts(c *compiled, pp *pathParts, path string) (Params, bool) {
	if pp.over {
		return match(c.segments, path)
	}
	if len(c.segments) != pp.n {
		return nil, false
	}
	params := 0
	for i, s := range c.segments {
		if c.param[i] {
			if pp.parts[i] == "" {
				return nil, false
			}
			params++
		} else if s != pp.parts[i] {
			return nil, false
		}
	}
	if params == 0 {
		return nil, true
	}
	ps := make(Params, 0, params)
	for i, s := range c.segments {
		if c.param[i] {
			ps = append(ps, Param{Name: s[1 : len(s)-1], Value: pp.parts[i]})
		}
	}
	return ps, true
}
