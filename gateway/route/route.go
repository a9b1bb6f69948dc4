// Package route matches requests to the gateway's routes: by host (exact,
// then wildcard "*.example.com" with the longest suffix first, then routes
// without a host), then by the longest path prefix, then by method.
//
// Host groups are tried from the most to the least specific; the first group
// with a route matching the path and method wins. If some route matched the
// path but none the method, the result says so (the gateway answers 405 with
// an Allow header). Prefixes are plain byte prefixes by default, like nginx
// prefix locations and Kong paths: "/api" matches "/api", "/api/x" and
// "/apix". A Spec with Segment set matches only on a path segment boundary:
// "/api" then matches "/api", "/api/" and "/api/x" but not "/apix" (which
// goes on to the next shorter prefix).
//
// Rewrite (rewrite.go) turns a matched path into the upstream path; Keep
// (keep.go) is the Rewrite of a route that keeps its path, so that the
// upstream never reads another path than the one the router matched
// (safepath.go); AppendLenient (lenient.go) reads a path as lenient
// upstreams do, for the gateway's check of ambiguous paths.
//
// Match does not allocate; a Table is immutable and safe for concurrent use.
package route

import (
	"fmt"
	"slices"
	"strings"
)

// Spec is one route as the matcher needs it.
type Spec struct {
	Host    string   // "", "shop.example.com" or "*.example.com"
	Path    string   // prefix, starts with "/"
	Methods []string // empty: any method
	// Segment: the prefix matches only where a path segment ends (the
	// path equals the prefix, or continues with "/"). A prefix ending in
	// "/" is on a boundary already.
	Segment bool
}

// Result is the outcome of Match.
type Result struct {
	// Index is the matching Spec's position in the list given to Compile, or -1.
	Index int
	// Allow lists the methods of the most specific route that matched the
	// path but not the method ("GET, HEAD"), when Index is -1.
	Allow string
}

type entry struct {
	index   int
	methods []string
	allow   string
	segment bool
}

type group struct {
	lengths  []int // distinct prefix lengths, longest first
	byPrefix map[string][]entry
}

// Table is a compiled, immutable route list.
type Table struct {
	exact    map[string]*group
	wildcard map[string]*group // keyed by ".example.com"
	anyHost  *group
	maxHost  int
}

// MaxHostLen is the longest Host header considered; longer ones match only
// routes without a host.
const MaxHostLen = 255

// Compile builds a Table. Two routes with the same host, path and an
// overlapping method set are an error naming both.
func Compile(specs []Spec) (*Table, error) {
	t := &Table{exact: map[string]*group{}, wildcard: map[string]*group{}}
	for i, s := range specs {
		if !strings.HasPrefix(s.Path, "/") {
			return nil, fmt.Errorf("cannot compile route %d: path %q must start with /", i, s.Path)
		}
		host := strings.TrimSuffix(strings.ToLower(s.Host), ".")
		if len(host) > MaxHostLen {
			return nil, fmt.Errorf("cannot compile route %d: host longer than %d bytes", i, MaxHostLen)
		}
		var g *group
		switch {
		case host == "":
			if t.anyHost == nil {
				t.anyHost = newGroup()
			}
			g = t.anyHost
		case strings.HasPrefix(host, "*."):
			g = getGroup(t.wildcard, host[1:])
		default:
			g = getGroup(t.exact, host)
		}
		e := entry{index: i, methods: s.Methods, allow: strings.Join(s.Methods, ", "),
			segment: s.Segment && !strings.HasSuffix(s.Path, "/")}
		for _, other := range g.byPrefix[s.Path] {
			if overlap(other.methods, e.methods) {
				return nil, fmt.Errorf("cannot compile route %d: same host %q, path %q and methods as route %d", i, s.Host, s.Path, other.index)
			}
		}
		if _, ok := g.byPrefix[s.Path]; !ok {
			g.lengths = append(g.lengths, len(s.Path))
		}
		g.byPrefix[s.Path] = append(g.byPrefix[s.Path], e)
	}
	for _, g := range t.all() {
		slices.Sort(g.lengths)
		g.lengths = slices.Compact(g.lengths)
		slices.Reverse(g.lengths)
	}
	return t, nil
}

func newGroup() *group { return &group{byPrefix: map[string][]entry{}} }

func getGroup(m map[string]*group, k string) *group {
	g := m[k]
	if g == nil {
		g = newGroup()
		m[k] = g
	}
	return g
}

func (t *Table) all() []*group {
	var out []*group
	for _, g := range t.exact {
		out = append(out, g)
	}
	for _, g := range t.wildcard {
		out = append(out, g)
	}
	if t.anyHost != nil {
		out = append(out, t.anyHost)
	}
	return out
}

// overlap reports whether two method sets share a method (empty = all).
func overlap(a, b []string) bool {
	if len(a) == 0 || len(b) == 0 {
		return true
	}
	for _, m := range a {
		if slices.Contains(b, m) {
			return true
		}
	}
	return false
}

// Match finds the route for a request. host is the Host header as received
// (any case, optional port, optional trailing dot); path is the normalized
// request path; method is the request method.
func (t *Table) Match(host, path, method []byte) Result {
	var buf [MaxHostLen]byte
	h, ok := normalizeHost(buf[:0], host)
	res := Result{Index: -1}
	if ok && len(h) > 0 {
		if g := t.exact[string(h)]; g != nil && g.match(path, method, &res) {
			return res
		}
		if len(t.wildcard) > 0 {
			for i := 0; i < len(h); i++ {
				if h[i] != '.' {
					continue
				}
				if g := t.wildcard[string(h[i:])]; g != nil && g.match(path, method, &res) {
					return res
				}
			}
		}
	}
	if t.anyHost != nil && t.anyHost.match(path, method, &res) {
		return res
	}
	return res
}

// match sets res.Index on a full match and reports it; a path match with the
// wrong method records the first such route's Allow.
func (g *group) match(path, method []byte, res *Result) bool {
	for _, n := range g.lengths {
		if n > len(path) {
			continue
		}
		entries, ok := g.byPrefix[string(path[:n])]
		if !ok {
			continue
		}
		boundary := n == len(path) || path[n] == '/'
		for i := range entries {
			e := &entries[i]
			if e.segment && !boundary {
				continue
			}
			if methodIn(e.methods, method) {
				res.Index = e.index
				return true
			}
			if res.Allow == "" {
				res.Allow = e.allow
			}
		}
	}
	return false
}

func methodIn(methods []string, m []byte) bool {
	if len(methods) == 0 {
		return true
	}
	for _, x := range methods {
		if x == string(m) {
			return true
		}
	}
	return false
}

// normalizeHost lower-cases host into buf and drops a port and a trailing
// dot. IPv6 literals keep their brackets. It reports false for hosts longer
// than MaxHostLen.
func normalizeHost(buf, host []byte) ([]byte, bool) {
	end := len(host)
	if len(host) > 0 && host[0] == '[' {
		for i := range host {
			if host[i] == ']' {
				end = i + 1
				break
			}
		}
	} else {
		for i := len(host) - 1; i >= 0; i-- {
			if host[i] == ':' {
				end = i
				break
			}
			if host[i] < '0' || host[i] > '9' {
				break
			}
		}
	}
	h := host[:end]
	if len(h) > 0 && h[len(h)-1] == '.' {
		h = h[:len(h)-1]
	}
	if len(h) > MaxHostLen {
		return nil, false
	}
	for _, c := range h {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	return buf, true
}
