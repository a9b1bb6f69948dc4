package fnapi

import (
	"strings"
	"testing"
)

func FuzzMatch(f *testing.F) {
	for _, s := range [][2]string{
		{"/", "/"},
		{"/a/{id}", "/a/42"},
		{"/a/{id}", "/a/42/"},
		{"/a/{id}/c", "/a//c"},
		{"/{x}/{y}", "/1/2/3"},
		{"/a/{}", "/a/{}"},
		{"/{", "/}"},
		{"/a/{id}", "/a/%zz"},
		{"//", "///"},
		{"/teams/{team}/apps/{app}", "/teams/shop/apps/web"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, path string) {
		segs := split(pattern)
		ps, ok := match(segs, path)
		if !ok {
			return
		}
		// Every parameter segment yields exactly one non-empty value, in order,
		// and every literal segment equals the path segment at its place.
		var names []string
		for _, s := range segs {
			if isParam(s) {
				names = append(names, s[1:len(s)-1])
			}
		}
		if len(ps) != len(names) {
			t.Fatalf("match(%q, %q) = %v: %d params, want %d", pattern, path, ps, len(ps), len(names))
		}
		for i, p := range ps {
			if p.Name != names[i] || p.Value == "" || strings.Contains(p.Value, "/") {
				t.Fatalf("match(%q, %q): param %d = %+v", pattern, path, i, p)
			}
		}
		parts := split(path)
		if len(parts) != len(segs) {
			t.Fatalf("match(%q, %q) matched %d path segments against %d pattern segments", pattern, path, len(parts), len(segs))
		}
		j := 0
		for i, s := range segs {
			if isParam(s) {
				if ps[j].Value != parts[i] {
					t.Fatalf("match(%q, %q): param %s = %q, path segment %q", pattern, path, ps[j].Name, ps[j].Value, parts[i])
				}
				j++
			} else if s != parts[i] {
				t.Fatalf("match(%q, %q): literal %q matched %q", pattern, path, s, parts[i])
			}
		}
	})
}

// FuzzMatchParts: the per-request split path matches exactly as match does.
func FuzzMatchParts(f *testing.F) {
	for _, s := range [][2]string{
		{"/", "/"}, {"/", ""}, {"/a/{id}", "/a/42/"}, {"/a/{id}/c", "/a//c"}, {"/{x}/{y}", "/1/2/3"},
		{"//", "///"}, {"/a/b", "a/b"}, {"/{a}", "//x//"},
		{"/teams/{team}/apps/{app}", "/teams/shop/apps/web"},
		{"/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/{q}", "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, path string) {
		segs := split(pattern)
		c := &compiled{segments: segs, param: make([]bool, len(segs))}
		for i, s := range segs {
			c.param[i] = isParam(s)
		}
		var pp pathParts
		splitPath(path, &pp)
		got, gotOK := matchParts(c, &pp, path)
		want, wantOK := match(segs, path)
		if gotOK != wantOK || len(got) != len(want) {
			t.Fatalf("matchParts(%q, %q) = %v, %v; match = %v, %v", pattern, path, got, gotOK, want, wantOK)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("matchParts(%q, %q) param %d = %+v; match: %+v", pattern, path, i, got[i], want[i])
			}
		}
	})
}

// FuzzLookupMatchesScan: the map lookup of paths without parameters picks
// the route (and the 405's methods) that matching every route in order picks.
func FuzzLookupMatchesScan(f *testing.F) {
	noop := func(*Request) error { return nil }
	m := NewMux(nil, nil)
	for _, fn := range []testFunction{
		{"one", []Route{
			{Method: "GET", Pattern: "/api/v1/whoami", Handler: noop},
			{Method: "POST", Pattern: "/api/v1/tokens", Handler: noop},
			{Method: "GET", Pattern: "/api/v1/tokens", Handler: noop},
			{Method: "DELETE", Pattern: "/api/v1/tokens/{id}", Handler: noop},
			{Method: "GET", Pattern: "/api/v1/{kind}", Handler: noop},
			{Method: "PUT", Pattern: "/{a}/{b}/whoami", Handler: noop},
			{Method: "GET", Pattern: "/", Handler: noop},
		}},
		{"two", []Route{
			{Method: "PUT", Pattern: "/api/v1/whoami/", Handler: noop},
			{Method: "GET", Pattern: "/fn/ab/decide", Handler: noop},
			{Method: "POST", Pattern: "/fn/{f}/decide", Handler: noop},
			{Method: "GET", Pattern: "/a//b", Handler: noop},
		}},
	} {
		if err := m.Register(fn); err != nil {
			f.Fatal(err)
		}
	}
	for _, s := range [][3]string{
		{"api", "GET", "/api/v1/whoami"}, {"one", "HEAD", "/api/v1/whoami"}, {"two", "PUT", "api/v1/whoami//"},
		{"api", "POST", "/api/v1/whoami"}, {"one", "GET", "/api/v1/tokens"}, {"api", "DELETE", "/api/v1/tokens"},
		{"api", "GET", "/"}, {"api", "GET", ""}, {"two", "POST", "/fn/ab/decide"}, {"api", "GET", "/a//b"}, {"x", "GET", "/fn/ab/decide"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, name, method, path string) {
		c, ps, allow := m.lookup(name, []byte(method), []byte(path))
		wc, wps, wallow := m.scan(name, []byte(method), path)
		if c != wc || len(ps) != len(wps) || strings.Join(allow, ",") != strings.Join(wallow, ",") {
			t.Fatalf("lookup(%q, %q, %q) = %v %v %v; scan: %v %v %v", name, method, path, c, ps, allow, wc, wps, wallow)
		}
	})
}
