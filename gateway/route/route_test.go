package route

import (
	"strings"
	"testing"
)

func mustCompile(t testing.TB, specs []Spec) *Table {
	t.Helper()
	tab, err := Compile(specs)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func TestMatch(t *testing.T) {
	specs := []Spec{
		0: {Path: "/"},
		1: {Path: "/api/"},
		2: {Host: "shop.example.com", Path: "/"},
		3: {Host: "shop.example.com", Path: "/cart/"},
		4: {Host: "*.example.com", Path: "/"},
		5: {Host: "*.eu.example.com", Path: "/"},
		6: {Host: "shop.example.com", Path: "/admin/", Methods: []string{"GET", "HEAD"}},
		7: {Host: "shop.example.com", Path: "/admin/", Methods: []string{"POST"}},
		8: {Path: "/only-get", Methods: []string{"GET"}},
		9: {Host: "[::1]", Path: "/v6/"},
	}
	tab := mustCompile(t, specs)
	cases := []struct {
		host, path, method string
		want               int
		allow              string
	}{
		{"other.org", "/x", "GET", 0, ""},
		{"other.org", "/api/v1/whoami", "GET", 1, ""},
		{"other.org", "/api", "GET", 0, ""},
		{"shop.example.com", "/x", "GET", 2, ""},
		{"SHOP.Example.COM:8080", "/cart/1", "GET", 3, ""},
		{"shop.example.com.", "/cart/", "GET", 3, ""},
		{"shop.example.com", "/cart", "GET", 2, ""},
		{"a.example.com", "/", "GET", 4, ""},
		{"a.b.example.com", "/", "GET", 4, ""},
		{"x.eu.example.com", "/", "GET", 5, ""},
		{"example.com", "/", "GET", 0, ""},
		{"shop.example.com", "/admin/x", "GET", 6, ""},
		{"shop.example.com", "/admin/x", "POST", 7, ""},
		// /admin/ exists for GET, HEAD, POST only; "/" on the same host takes DELETE.
		{"shop.example.com", "/admin/x", "DELETE", 2, ""},
		{"other.org", "/only-get", "POST", 0, ""},
		{"[::1]:8080", "/v6/a", "GET", 9, ""},
		{"", "/api/x", "GET", 1, ""},
	}
	for _, c := range cases {
		r := tab.Match([]byte(c.host), []byte(c.path), []byte(c.method))
		if r.Index != c.want {
			t.Errorf("%s %s%s: got route %d, want %d", c.method, c.host, c.path, r.Index, c.want)
		}
	}
}

func TestMethodNotAllowed(t *testing.T) {
	tab := mustCompile(t, []Spec{
		{Path: "/api/", Methods: []string{"GET", "HEAD"}},
		{Host: "a.example.com", Path: "/", Methods: []string{"POST"}},
	})
	r := tab.Match([]byte("x.org"), []byte("/api/x"), []byte("DELETE"))
	if r.Index != -1 || r.Allow != "GET, HEAD" {
		t.Fatalf("%+v", r)
	}
	r = tab.Match([]byte("x.org"), []byte("/other"), []byte("GET"))
	if r.Index != -1 || r.Allow != "" {
		t.Fatalf("no path match must be a plain miss: %+v", r)
	}
	// The host group's method mismatch is remembered while a less specific group is tried.
	r = tab.Match([]byte("a.example.com"), []byte("/x"), []byte("GET"))
	if r.Index != -1 || r.Allow != "POST" {
		t.Fatalf("%+v", r)
	}
}

func TestCompileRejectsDuplicates(t *testing.T) {
	_, err := Compile([]Spec{{Path: "/a"}, {Path: "/a", Methods: []string{"GET"}}})
	if err == nil || !strings.Contains(err.Error(), "route 0") {
		t.Fatalf("got %v", err)
	}
	if _, err := Compile([]Spec{{Path: "/a", Methods: []string{"POST"}}, {Path: "/a", Methods: []string{"GET"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Compile([]Spec{{Path: "a"}}); err == nil {
		t.Fatal("a path without / must fail")
	}
}

func TestLongHostOnlyMatchesAnyHost(t *testing.T) {
	tab := mustCompile(t, []Spec{{Path: "/"}, {Host: "*.example.com", Path: "/"}})
	long := strings.Repeat("a", 300) + ".example.com"
	if r := tab.Match([]byte(long), []byte("/"), []byte("GET")); r.Index != 0 {
		t.Fatalf("%+v", r)
	}
}

func FuzzMatch(f *testing.F) {
	tab := mustCompile(f, []Spec{{Path: "/"}, {Host: "*.example.com", Path: "/a/"}, {Host: "x.org", Path: "/b", Methods: []string{"GET"}}})
	f.Add("x.org:80", "/b/c", "GET")
	f.Add("[::1", "/", "POST")
	f.Add("A.EXAMPLE.COM.", "/a/", "GET")
	f.Fuzz(func(t *testing.T, host, path, method string) {
		r := tab.Match([]byte(host), []byte(path), []byte(method))
		if r.Index < -1 || r.Index > 2 {
			t.Fatalf("index %d", r.Index)
		}
		if strings.HasPrefix(path, "/") && r.Index == -1 {
			t.Fatalf("the catch-all route must match %q", path)
		}
	})
}

func TestSegmentMatch(t *testing.T) {
	t.Parallel()
	tab := mustCompile(t, []Spec{
		0: {Path: "/"},
		1: {Path: "/shop", Segment: true},
		2: {Path: "/api/", Segment: true},
		3: {Path: "/plain"},
		4: {Path: "/shop/admin", Segment: true, Methods: []string{"POST"}},
	})
	cases := []struct {
		path, method string
		want         int
	}{
		{"/shop", "GET", 1},
		{"/shop/", "GET", 1},
		{"/shop/x", "GET", 1},
		{"/shopping", "GET", 0}, // not a segment boundary: the next route down
		{"/shop.json", "GET", 0},
		{"/api/", "GET", 2},
		{"/api/x", "GET", 2},
		{"/api", "GET", 0},
		{"/plainer", "GET", 3}, // the default stays a byte prefix
		{"/shop/admin", "POST", 4},
		{"/shop/admin/x", "POST", 4},
		{"/shop/administrator", "POST", 1},
		{"/shop/admin", "GET", 1},
	}
	for _, c := range cases {
		if r := tab.Match([]byte("x.org"), []byte(c.path), []byte(c.method)); r.Index != c.want {
			t.Errorf("%s %s: got route %d, want %d", c.method, c.path, r.Index, c.want)
		}
	}
	// A segment route that does not match at a boundary does not report 405.
	tab = mustCompile(t, []Spec{{Path: "/shop", Segment: true, Methods: []string{"GET"}}})
	if r := tab.Match([]byte("x.org"), []byte("/shopping"), []byte("POST")); r.Index != -1 || r.Allow != "" {
		t.Fatalf("%+v", r)
	}
}
