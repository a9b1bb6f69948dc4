package route

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// rewritePath runs rw on a request target the way the gateway does: the
// router matched fasthttp's normalized path, the raw path is as received.
func rewritePath(t *testing.T, rw *Rewrite, target string) (string, bool) {
	t.Helper()
	var u fasthttp.URI
	if err := u.Parse(nil, []byte(target)); err != nil {
		t.Fatalf("parse %q: %v", target, err)
	}
	out, ok := rw.AppendPath(nil, u.PathOriginal(), u.Path())
	return string(out), ok
}

func TestRewritePaths(t *testing.T) {
	t.Parallel()
	cases := []struct {
		from, to, req, want string
	}{
		// strip_prefix (to "/"), Kong's strip_path.
		{"/shop", "/", "/shop/cart", "/cart"},
		{"/shop", "/", "/shop", "/"},
		{"/shop", "/", "/shop/", "/"},
		{"/shop", "/", "/shopping", "/ping"},
		{"/shop/", "/", "/shop/cart", "/cart"},
		{"/shop/", "/", "/shop/", "/"},
		// Percent-encoding is passed on as received.
		{"/shop", "/", "/shop/a%2Fb", "/a%2Fb"},
		{"/shop", "/", "/shop/caf%C3%A9", "/caf%C3%A9"},
		{"/shop", "/", "/shop/a%20b", "/a%20b"},
		{"/shop", "/", "/shop/a%3Fb", "/a%3Fb"},
		{"/shop", "/", "/shop/100%", "/100%"},
		{"/shop", "/", "/%73hop/x", "/x"},
		// Paths that needed normalizing are sent normalized and re-encoded (nginx).
		{"/shop", "/", "/shop//cart", "/cart"},
		{"/shop", "/", "/shop/./cart", "/cart"},
		{"/shop", "/", "/shop/a/../cart", "/cart"},
		{"/shop", "/", "/shop/.", "/"},
		{"/shop", "/", "/shop//a%2Fb", "/a/b"},
		{"/shop", "/", "/shop//a%3Fb%20c%25", "/a%3Fb%20c%25"},
		{"/shop", "/", "/x/../shop/cart", "/cart"},
		// nginx proxy_pass with a URI: the matched prefix is replaced.
		{"/shop/", "/new/", "/shop/cart?x=1", "/new/cart"},
		{"/shop/", "/new/", "/shop/", "/new/"},
		{"/shop", "/new", "/shop/cart", "/new/cart"},
		{"/shop", "/new", "/shop", "/new"},
		{"/shop", "/new", "/shop/", "/new/"},
		{"/shop", "/new", "/shopping", "/newping"},
		// Where nginx would send "/new//cart", no "//" is produced.
		{"/shop", "/new/", "/shop/cart", "/new/cart"},
		{"/shop", "/new/", "/shop", "/new/"},
		{"/shop", "/new/", "/shopping", "/new/ping"},
		{"/shop", "/new/", "/shop%2Fcart", "/new/cart"},
		{"/shop", "/new", "/shop%2Fcart", "/new/cart"},
		{"/shop", "/new", "/shop%2fcart/a%2Fb", "/new/cart/a%2Fb"},
		{"/", "/v1/", "/users", "/v1/users"},
		{"/", "/v1/", "/", "/v1/"},
		// Nothing climbs out of the new prefix.
		{"/shop", "/new/", "/shop/../admin", ""},
		{"/shop", "/new/", "/shop/%2e%2e/admin", ""},
		{"/shop", "/new/", "/shop..", "/new/"},
		{"/shop", "/new/", "/shop%2e%2e", "/new/"},
		{"/shop", "/new/", "/shop..%2Fadmin", "/new/admin"},
		{"/shop", "/new/", "/shop..%5Cadmin", "/new/admin"},
		{"/shop", "/new/", "/shop..\\admin", "/new/admin"},
		{"/shop", "/new/", "/shop..;x/admin", "/new/admin"},
		{"/shop", "/", "/shop.", "/"},
		{"/shop", "/new", "/shop..", "/new.."},
		{"/shop", "/new/", "/shop/a/%2e%2e%2f%2e%2e/admin", ""},
	}
	for _, c := range cases {
		rw, err := NewRewrite(c.from, c.to)
		if err != nil {
			t.Fatalf("NewRewrite(%q, %q): %v", c.from, c.to, err)
		}
		from := c.from
		got, ok := rewritePath(t, rw, c.req)
		if c.want == "" {
			if ok {
				t.Errorf("%s → %s: %s rewritten to %q; the router does not match it", from, c.to, c.req, got)
			}
			continue
		}
		if !ok || got != c.want {
			t.Errorf("%s → %s: %s gave %q (%v), want %q", from, c.to, c.req, got, ok, c.want)
		}
	}
}

// TestRewriteNeverEscapes: whatever the request, the upstream path starts
// with the new prefix and holds no "//", "." or ".." segment, even after an
// upstream decodes it (treating %2F and backslashes as slashes).
func TestRewriteNeverEscapes(t *testing.T) {
	t.Parallel()
	for _, to := range []string{"/", "/new/", "/new"} {
		rw, err := NewRewrite("/shop", to)
		if err != nil {
			t.Fatal(err)
		}
		for _, req := range []string{
			"/shop..", "/shop../x", "/shop%2e%2e%2fx", "/shop/./../..", "/shop/%2E/", "/shop;/../x",
			"/shop..%2F..%2F", "/shop//..//x", "/shop/x/..%5c..%5cy", "/shop/.%2e/x", "/shop..;/x",
		} {
			got, ok := rewritePath(t, rw, req)
			if !ok {
				continue
			}
			if !strings.HasPrefix(got, strings.TrimSuffix(to, "/")) || !SafePath([]byte(got)) {
				t.Errorf("%s → %s: %s gave unsafe %q", "/shop", to, req, got)
			}
		}
	}
}

func TestNewRewriteRefuses(t *testing.T) {
	t.Parallel()
	cases := map[string][2]string{
		"empty":              {"/shop", ""},
		"relative":           {"/shop", "new"},
		"double slash":       {"/shop", "/a//b"},
		"dot dot":            {"/shop", "/a/../b"},
		"dot":                {"/shop", "/a/./"},
		"encoded dot dot":    {"/shop", "/%2e%2e/"},
		"query":              {"/shop", "/a?b"},
		"space":              {"/shop", "/a b"},
		"control":            {"/shop", "/a\x00"},
		"trailing slash":     {"/shop/", "/new"},
		"relative from":      {"shop", "/new"},
		"bad escape":         {"/shop", "/a%zz"},
		"backslash":          {"/shop", "/a\\b"},
		"semicolon dot dot":  {"/shop", "/..;/b"},
		"encoded slash":      {"/shop", "/a%2F..%2Fb"},
		"fragment":           {"/shop", "/a#b"},
		"non-ascii":          {"/shop", "/caf\xc3\xa9"},
		"dot segment at end": {"/shop", "/a/.."},
	}
	for name, c := range cases {
		if _, err := NewRewrite(c[0], c[1]); err == nil {
			t.Errorf("%s: NewRewrite(%q, %q) accepted", name, c[0], c[1])
		}
	}
}

func TestForwardedPrefix(t *testing.T) {
	t.Parallel()
	for from, want := range map[string]string{"/shop": "/shop", "/shop/": "/shop", "/": ""} {
		rw, err := NewRewrite(from, "/")
		if err != nil {
			t.Fatal(err)
		}
		if got := rw.ForwardedPrefix(); got != want {
			t.Errorf("%s: got %q, want %q", from, got, want)
		}
	}
}

func FuzzRewrite(f *testing.F) {
	for _, s := range []string{"/shop/a%2Fb", "/shop..%2F..", "/shop//x/../y", "/shop/%2e%2e", "/shop..;/x", "/shop\\..\\x"} {
		f.Add(s)
	}
	rws := make([]*Rewrite, 0, 3)
	for _, to := range []string{"/", "/new/", "/new"} {
		rw, err := NewRewrite("/shop", to)
		if err != nil {
			f.Fatal(err)
		}
		rws = append(rws, rw)
	}
	f.Fuzz(func(t *testing.T, target string) {
		if !strings.HasPrefix(target, "/") {
			return
		}
		var u fasthttp.URI
		if u.Parse(nil, []byte(target)) != nil {
			return
		}
		for _, rw := range rws {
			out, ok := rw.AppendPath(nil, u.PathOriginal(), u.Path())
			if ok && (!strings.HasPrefix(string(out), strings.TrimSuffix(rw.to, "/")) || !SafePath(out)) {
				t.Fatalf("%q → %q: unsafe %q", target, rw.to, out)
			}
		}
	})
}
