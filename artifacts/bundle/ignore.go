package bundle

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// IgnoreName is the file at a bundle directory's root that lists paths to
// leave out.
const IgnoreName = ".wharfignore"

// Ignore decides which paths Pack leaves out. Its patterns are the
// following subset of .gitignore syntax, one per line:
//
//   - blank lines and lines starting with "#" are skipped; trailing spaces
//     are trimmed; a leading "\" escapes a literal "#" or "!";
//   - "!pattern" re-includes what an earlier pattern excluded; the last
//     matching pattern decides. As in git, nothing inside an excluded
//     directory can be re-included (Pack does not look inside it);
//   - a trailing "/" matches directories only ("build/");
//   - a pattern with a "/" at its start or in its middle is relative to the
//     bundle root ("/config.local", "docs/draft"); otherwise it matches a
//     name at any depth ("*.log", "node_modules/");
//   - "*" matches any run of characters except "/", "?" one such character,
//     "[a-z]" and "[!a-z]" a class (as path.Match);
//   - "**" as a whole segment matches any number of directories: "**/tmp"
//     (at any depth), "logs/**" (everything inside logs, not logs itself),
//     "a/**/b" (zero or more directories between).
//
// Character ranges with escapes and the "\ " trailing-space escape of git
// are not supported.
type Ignore struct {
	rules []ignoreRule
}

type ignoreRule struct {
	segs    []string
	negate  bool
	dirOnly bool
}

// ParseIgnore parses .wharfignore content; a malformed pattern is an error
// naming its line.
func ParseIgnore(data []byte) (*Ignore, error) {
	ig := &Ignore{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, " \t\r")
		if line == "" || line[0] == '#' {
			continue
		}
		var r ignoreRule
		if line[0] == '!' {
			r.negate, line = true, line[1:]
		} else if line[0] == '\\' {
			line = line[1:]
		}
		if strings.HasSuffix(line, "/") {
			r.dirOnly, line = true, strings.TrimRight(line, "/")
		}
		anchored := strings.Contains(line, "/")
		line = strings.TrimLeft(line, "/")
		if line == "" {
			continue // "/" or "!" alone match nothing useful
		}
		r.segs = strings.Split(line, "/")
		for _, s := range r.segs {
			if _, err := path.Match(s, ""); err != nil {
				return nil, fmt.Errorf("cannot parse %s: line %d: bad pattern %q", IgnoreName, i+1, line)
			}
		}
		if !anchored {
			r.segs = append([]string{"**"}, r.segs...)
		}
		r.segs = slices.CompactFunc(r.segs, func(a, b string) bool { return a == "**" && b == "**" })
		if r.segs[len(r.segs)-1] == "**" {
			// A trailing "**" matches what is inside, not the directory itself.
			r.segs = append(r.segs[:len(r.segs)-1], "*", "**")
		}
		ig.rules = append(ig.rules, r)
	}
	return ig, nil
}

// Match reports whether the slash-separated path rel (relative to the
// bundle root, no leading "./") is excluded. It looks at rel itself only;
// Pack does not descend into excluded directories.
func (ig *Ignore) Match(rel string, isDir bool) bool {
	if ig == nil {
		return false
	}
	segs := strings.Split(rel, "/")
	ignored := false
	for _, r := range ig.rules {
		if r.dirOnly && !isDir {
			continue
		}
		if matchSegs(r.segs, segs) {
			ignored = !r.negate
		}
	}
	return ignored
}

// matchSegs matches pattern segments against path segments, "**" matching
// any number of segments. It is the classic greedy wildcard match with one
// backtrack point, linear in practice whatever the number of "**".
func matchSegs(pat, name []string) bool {
	p, n := 0, 0
	starP, starN := -1, 0
	for n < len(name) {
		switch {
		case p < len(pat) && pat[p] == "**":
			starP, starN = p, n
			p++
		case p < len(pat) && segMatch(pat[p], name[n]):
			p++
			n++
		case starP >= 0:
			starN++
			p, n = starP+1, starN
		default:
			return false
		}
	}
	for p < len(pat) && pat[p] == "**" {
		p++
	}
	return p == len(pat)
}

func segMatch(pat, name string) bool {
	ok, _ := path.Match(pat, name)
	return ok
}
