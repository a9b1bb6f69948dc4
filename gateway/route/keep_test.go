package route

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestKeepPaths: a route that keeps its path sends the raw path when it
// needs no normalization, the normalized one re-encoded when it does, and
// its own path with literal slashes.
func TestKeepPaths(t *testing.T) {
	t.Parallel()
	cases := []struct {
		from, req, want string
		unchanged       bool
	}{
		{"/", "/products/42", "/products/42", true},
		{"/", "/", "/", true},
		{"/", "/a%2Fb", "/a%2Fb", true},
		{"/", "/caf%C3%A9/x%20y", "/caf%C3%A9/x%20y", true},
		{"/", "/x;jsessionid=1/y", "/x;jsessionid=1/y", true},
		{"/", "/.../..x/.h/x..", "/.../..x/.h/x..", true},
		{"/", "/100%", "/100%", true},
		{"/", "/a%zz", "/a%zz", true},
		{"/", `/a\b`, `/a\b`, true},
		{"/", "//x", "/x", false},
		{"/", "/./x", "/x", false},
		{"/", "/x/../y", "/y", false},
		{"/", "/x/..", "/", false},
		{"/", "/.", "/", false},
		{"/", "/%2e/x", "/x", false},
		{"/", "/x/%2e%2e/y", "/y", false},
		{"/", "/public/..;/admin/x", "/public/admin/x", false},
		{"/", "/public/%2e%2e;x/admin", "/public/admin", false},
		{"/", "/public/..%3B/admin", "/public/admin", false},
		{"/", `/public/..\admin\x`, "/public/admin/x", false},
		{"/", "/public/..%5Cadmin", "/public/admin", false},
		{"/", "/admin/..%2Fpublic/x", "/public/x", false},
		{"/", "/a%2F%2Fb", "/a/b", false},
		{"/", "//a%20b/%3F", "/a%20b/%3F", false},
		{"/", "/x//caf%C3%A9", "/x/caf%C3%A9", false},
		{"/", "/x//a%25b", "/x/a%25b", false},
		{"/shop/", "/shop/cart?x=1", "/shop/cart", true},
		{"/shop/", "/shop/a%2Fb", "/shop/a%2Fb", true},
		{"/shop/", "/sh%6Fp/x", "/shop/x", false},
		{"/shop/", "/shop/./x", "/shop/x", false},
		{"/shop/", "/shop/..;/x", "/shop/x", false},
		{"/a/b/", "/a%2Fb/c", "/a/b/c", false},
		{"/a/b/", "/a/b%2Fc", "/a/b/c", false},
		{"/shop", "/shop%2Fx", "/shop/x", false},
		{"/shop", "/shop%2fx", "/shop/x", false},
		{"/shop", "/shopping", "/shopping", true},
		{"/shop", "/shop", "/shop", true},
		{"/caf\xc3\xa9/", "/caf%C3%A9/x", "/caf%C3%A9/x", true},
		{"/caf\xc3\xa9/", "/caf%c3%a9/x", "/caf%C3%A9/x", false},
	}
	for _, c := range cases {
		rw := Keep(c.from)
		var u fasthttp.URI
		if err := u.Parse([]byte("h.test"), []byte(c.req)); err != nil {
			t.Fatalf("parse %q: %v", c.req, err)
		}
		out, ok := rw.AppendPath(nil, u.PathOriginal(), u.Path())
		if got := string(out); !ok || got != c.want {
			t.Errorf("Keep(%q): %s gave %q (%v), want %q", c.from, c.req, got, ok, c.want)
		}
		if un := rw.Unchanged(u.PathOriginal(), u.Path()); un != c.unchanged {
			t.Errorf("Keep(%q): %s unchanged %v, want %v", c.from, c.req, un, c.unchanged)
		}
		if !rw.Keeps() || rw.ForwardedPrefix() != strings.TrimSuffix(c.from, "/") {
			t.Errorf("Keep(%q): Keeps %v", c.from, rw.Keeps())
		}
	}
	rw, err := NewRewrite("/shop", "/")
	if err != nil {
		t.Fatal(err)
	}
	if rw.Keeps() {
		t.Fatal("a rewrite keeps")
	}
}

// TestUnchangedDoesNotAllocate: the check every ordinary request goes
// through.
func TestUnchangedDoesNotAllocate(t *testing.T) {
	rw := Keep("/products/")
	raw, norm := []byte("/products/42/caf%C3%A9"), []byte("/products/42/caf\xc3\xa9")
	if n := testing.AllocsPerRun(100, func() {
		if !rw.Unchanged(raw, norm) {
			t.Fatal("changed")
		}
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

func TestAppendClean(t *testing.T) {
	t.Parallel()
	for norm, want := range map[string]string{
		"":                 "/",
		"/":                "/",
		"/a b/c":           "/a%20b/c",
		"/x/..;/y/":        "/x/y/",
		`/x\y`:             "/x/y",
		"/caf\xc3\xa9?#%/": "/caf%C3%A9%3F%23%25/",
	} {
		if got := string(AppendClean(nil, []byte(norm))); got != want {
			t.Errorf("AppendClean(%q) = %q, want %q", norm, got, want)
		}
	}
}

func TestAppendLenient(t *testing.T) {
	t.Parallel()
	for norm, want := range map[string]string{
		"/":                      "/",
		"/admin;x/y":             "/admin/y",
		"/admin;jsessionid=1":    "/admin",
		"/admin;/":               "/admin/",
		`/admin\y`:               "/admin/y",
		`/x\..\admin`:            "/x/admin",
		"/x/..;/admin":           "/x/admin",
		"/;x/admin":              "/admin",
		"/cart;jsessionid=1/x":   "/cart/x",
		"/a/./b/":                "/a/b/",
		"/a/.":                   "/a/",
		"/a;b=c/d\\e;f":          "/a/d/e",
		"/caf\xc3\xa9;x/\x00;y/": "/caf\xc3\xa9/\x00/",
	} {
		if got := string(AppendLenient(nil, []byte(norm))); got != want {
			t.Errorf("AppendLenient(%q) = %q, want %q", norm, got, want)
		}
	}
	if Ambiguous([]byte("/products/42")) || !Ambiguous([]byte("/a;b")) || !Ambiguous([]byte(`/a\b`)) {
		t.Fatal("Ambiguous")
	}
}

// FuzzKeep: whatever the client sends, a kept route's upstream path is safe
// (SafePath), equals the raw path when Unchanged says so, and reads, to the
// most lenient upstream, exactly as the gateway's ambiguity check read the
// normalized path (AppendLenient): the gateway and the upstream agree.
func FuzzKeep(f *testing.F) {
	for _, s := range []string{"/shop/a%2Fb", "/admin/..%2Fpublic", "/public/..;/admin", "/shop//x/../y", "/p/%2e%2e%5cx", `/p\..\x`, "/x;y/z", "/%25%32%46"} {
		f.Add(s)
	}
	rws := []*Rewrite{Keep("/"), Keep("/shop/"), Keep("/shop"), Keep("/caf\xc3\xa9 x/")}
	f.Fuzz(func(t *testing.T, target string) {
		if !strings.HasPrefix(target, "/") {
			return
		}
		var u fasthttp.URI
		if u.Parse([]byte("h.test"), []byte(target)) != nil {
			return
		}
		raw, norm := u.PathOriginal(), u.Path()
		for _, rw := range rws {
			out, ok := rw.AppendPath(nil, raw, norm)
			if !ok {
				continue
			}
			if !SafePath(out) {
				t.Fatalf("Keep(%q): %q gave unsafe %q", rw.from, target, out)
			}
			if rw.Unchanged(raw, norm) && string(out) != string(raw) {
				t.Fatalf("Keep(%q): %q unchanged but sent as %q", rw.from, target, out)
			}
			if got, want := AppendLenient(nil, decodeAll(out)), AppendLenient(nil, norm); string(got) != string(want) {
				t.Fatalf("Keep(%q): %q sent as %q, read as %q by a lenient upstream, %q by the gateway", rw.from, target, out, got, want)
			}
		}
	})
}

// decodeAll decodes every valid percent-escape of p, once.
func decodeAll(p []byte) []byte {
	var out []byte
	for i := 0; i < len(p); {
		c, step := decodeAt(p, i)
		out = append(out, c)
		i += step
	}
	return out
}
