package redact

import (
	"strings"
	"testing"
)

const tok = "wharf_0123456789abcdef_feedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedface"

func TestString(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"plain text stays", "plain text stays"},
		{"token " + tok + " leaked", "token " + Mask + " leaked"},
		{"Authorization: Bearer abc.def", "Authorization: " + Mask},
		{"authorization: Basic dXNlcjpwYXNz\r\nHost: x", "authorization: " + Mask + "\r\nHost: x"},
		{"sent Bearer abc.def", "sent Bearer " + Mask},
		{`"GET / HTTP/1.1\r\nCookie: session=abc; theme=dark\r\n"`, `"GET / HTTP/1.1\r\nCookie: ` + Mask + `\r\n"`},
		{`{"authorization":"Bearer x","n":1}`, `{"authorization":"` + Mask + `","n":1}`},
		{"X-Api-Key: k123\r\n", "X-Api-Key: " + Mask + "\r\n"},
		{`{"token":"s3cret","name":"x"}`, `{"token":"` + Mask + `","name":"x"}`},
		{"url?access_key=AK&other=1", "url?access_key=" + Mask + "&other=1"},
		{"password=hunter2 user=bob", "password=" + Mask + " user=bob"},
		{"a cut token wharf_0123456789abcdef_feed", "a cut token " + Mask},
		{"not a token wharf_123", "not a token wharf_123"},
		{"secret is shown once", "secret is shown once"},
		{"bearer", "bearer"},
		{"Cookie: theme=dark; sid=S3CRETSID\r\nHost: x", "Cookie: " + Mask + "\r\nHost: x"},
		{"Authorization: Token abcdef123\r\n", "Authorization: " + Mask + "\r\n"},
		{`Authorization: Digest username="u", response="r3sp"`, "Authorization: " + Mask},
		{`"GET / HTTP/1.1\r\nCookie: a=1; sid=S3C\r\n"`, `"GET / HTTP/1.1\r\nCookie: ` + Mask + `\r\n"`},
	}
	for _, c := range cases {
		if got := String(c.in); got != c.want {
			t.Errorf("String(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestContainsIsFalseForOrdinaryLines(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"edge config applied", "GET /api/v1/apps 200 1.2ms", "instance 10.0.0.1:8080 ejected"} {
		if Contains(s) {
			t.Errorf("Contains(%q)", s)
		}
	}
}

func FuzzString(f *testing.F) {
	for _, s := range []string{tok, "Authorization: Bearer x", `"token":"y"`, "cookie=", "Basic  ", "wharf_0123456789abcdef_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := String(s)
		if strings.Contains(out, tok) {
			t.Fatalf("token survived: %q", out)
		}
		// Masking is stable: masking twice changes nothing more.
		if again := String(out); again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, out, again)
		}
		// A token anywhere is always masked.
		if got := String(s + " " + tok); strings.Contains(got, tok) {
			t.Fatalf("token after %q survived: %q", s, got)
		}
	})
}

func TestHasToken(t *testing.T) {
	t.Parallel()
	if !HasToken("x "+tok+" y") || !HasToken("wharf_ and "+tok) {
		t.Fatal("token not found")
	}
	if HasToken("wharf_0123456789abcdef_feed") || HasToken("no token") || HasToken(String("a "+tok)) {
		t.Fatal("false token")
	}
}

func TestValue(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ key, in, want string }{
		{"authorization", "Token abc", Mask},
		{"X-Api-Key", "k", Mask},
		{"msg", "token " + tok, "token " + Mask},
		{"path", "/api/v1/apps", "/api/v1/apps"},
		{tok, "plain", "plain"},
	} {
		if got := Value(c.key, c.in); got != c.want {
			t.Errorf("Value(%q, %q) = %q, want %q", c.key, c.in, got, c.want)
		}
	}
}
