package gateway

import (
	"net/url"
	"strings"
	"testing"
)

func TestAppendHTTPSLocation(t *testing.T) {
	for _, tc := range []struct {
		host, uri string
		port      int
		want      string
	}{
		{"shop.example.com", "/a?b=1", 8443, "https://shop.example.com:8443/a?b=1"},
		{"shop.example.com:80", "/", 0, "https://shop.example.com/"},
		{"10.0.0.1:8080", "/x", 443, "https://10.0.0.1:443/x"},
		{"[2001:db8::1]:80", "/", 0, "https://[2001:db8::1]/"},
		{"under_score.local", "/", 0, "https://under_score.local/"},
	} {
		got, ok := appendHTTPSLocation(nil, []byte(tc.host), []byte(tc.uri), tc.port)
		if !ok || string(got) != tc.want {
			t.Errorf("%s %s: %q %v, want %q", tc.host, tc.uri, got, ok, tc.want)
		}
	}
	for _, host := range []string{"", "a/b", "a@b", "a b", "[::1", "[]", "[::1]x", "a:1x", "a:123456", "a?b", "a#b", "a\\b", "é.test", ":80"} {
		if got, ok := appendHTTPSLocation(nil, []byte(host), []byte("/"), 0); ok {
			t.Errorf("Host %q accepted: %q", host, got)
		}
	}
}

// FuzzRedirectHost: whatever the Host header, an accepted redirect's
// authority is exactly the header's host part (no user info, path or
// fragment smuggled in) and the path is the request's.
func FuzzRedirectHost(f *testing.F) {
	for _, s := range []string{"a.test", "a.test:80", "[::1]:8080", "a@b", "a/b", "[::1", "x:y", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		loc, ok := appendHTTPSLocation(nil, []byte(host), []byte("/p?q"), 8443)
		if !ok {
			return
		}
		u, err := url.Parse(string(loc))
		if err != nil {
			t.Fatalf("Host %q: Location %q does not parse: %v", host, loc, err)
		}
		want := host
		if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
			want = host[:i]
		}
		if u.Scheme != "https" || u.User != nil || u.Hostname() != strings.Trim(want, "[]") || u.Port() != "8443" || u.Path != "/p" || u.RawQuery != "q" {
			t.Fatalf("Host %q: Location %q parses to %#v", host, loc, u)
		}
	})
}
