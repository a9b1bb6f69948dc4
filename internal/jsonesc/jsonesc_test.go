package jsonesc

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecodeU(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in string // the bytes after `\u`
		r  rune
		n  int
	}{
		{"0041", 'A', 4},
		{"00e9", 'é', 4},
		{"00E9rest", 'é', 4},
		{"0000", 0, 4},
		{"ffff", 0xFFFF, 4},
		{"20AC", '€', 4},
		{`D83D\uDE00`, '😀', 10},
		{`d83d\ude00tail`, '😀', 10},
		{`DBFF\uDFFF`, 0x10FFFF, 10},
		{"D800", utf8.RuneError, 4},             // lone high surrogate at the end
		{`D800\u`, utf8.RuneError, 4},           // high, then a truncated escape
		{`D800\u12`, utf8.RuneError, 4},         // high, then a short escape
		{`D800\u00G1`, utf8.RuneError, 4},       // high, then invalid hex: the caller reports it
		{`D800\uD800`, utf8.RuneError, 4},       // high, high
		{`D800\u0041`, utf8.RuneError, 4},       // high, not a surrogate
		{`D800u DC00`, utf8.RuneError, 4},       // high, no backslash
		{`D800\nDC00`, utf8.RuneError, 4},       // high, another escape
		{`DC00\uD800`, utf8.RuneError, 4},       // lone low surrogate
		{`DFFF`, utf8.RuneError, 4},             // lone low at the end
		{"", 0, 0},                              // truncated
		{"0", 0, 0},                             // truncated
		{"004", 0, 0},                           // truncated
		{"00G1", 0, 0},                          // invalid hex
		{"+041", 0, 0},                          // invalid hex
		{" 041", 0, 0},                          // invalid hex
		{"004\"", 0, 0},                         // string ends inside the escape
		{"\xff041", 0, 0},                       // not even ASCII
		{`D83D\uDE0`, utf8.RuneError, 4},        // pair cut short
		{`D83D\uDE0"`, utf8.RuneError, 4},       // pair cut by the closing quote
		{`D83D\\uDE00`, utf8.RuneError, 4},      // an escaped backslash is not \u
		{`D83D` + `\u` + `dE00`, '😀', 10},       // mixed case
		{strings.Repeat("0", 3) + "a", '\n', 4}, // a control character by escape
		{"007F", 0x7F, 4},
	} {
		r, n := DecodeU([]byte(c.in))
		if r != c.r || n != c.n {
			t.Errorf("DecodeU(%q) = %U, %d; want %U, %d", c.in, r, n, c.r, c.n)
		}
	}
}

// unquote decodes the content of a JSON string literal (without its
// quotes) the way Wharf's parsers do with DecodeU; ok is false when
// encoding/json would refuse it.
func unquote(b []byte) (string, bool) {
	var out []byte
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '"' || c < 0x20:
			return "", false
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(b) {
			return "", false
		}
		e := b[i+1]
		i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, n := DecodeU(b[i:])
			if n == 0 {
				return "", false
			}
			i += n
			out = utf8.AppendRune(out, r)
		default:
			return "", false
		}
	}
	if !utf8.Valid(out) {
		return string([]rune(string(out))), true
	}
	return string(out), true
}

// sameAsEncodingJSON fails t when unquote and encoding/json disagree on the
// JSON string "<content>".
func sameAsEncodingJSON(t *testing.T, content string) {
	t.Helper()
	var want string
	err := json.Unmarshal([]byte(`"`+content+`"`), &want)
	got, ok := unquote([]byte(content))
	if ok != (err == nil) {
		t.Fatalf("%q: DecodeU accepts=%v, encoding/json err=%v", content, ok, err)
	}
	if ok && got != want {
		t.Fatalf("%q: decoded %q, encoding/json %q", content, got, want)
	}
}

// escapeForms are every form of \u escape: plain, pairs, lone and
// mismatched surrogates, invalid hex, truncation.
var escapeForms = []string{
	`\u0041`, `\u00e9`, `\u20AC`, `\u0000`, `\u001f`, `\uffff`, `\uFFFD`,
	`\uD83D\uDE00`, `\ud83d\ude00`, `\uDBFF\uDFFF`, `\uD800\uDC00`,
	`\uD800`, `\uDFFF`, `\uDC00\uD800`, `\uD800\uD800`, `\uD800\u0041`,
	`\uD800\n`, `\uD800x`, `\uD800\\uDC00`, `\uD800\uDC0`, `\uD800\u`,
	`\uD800\uDC0G`, `\u00G1`, `\u12`, `\u`, `\u004`, `\uD83D\uDE00\uDE00`,
	`a\uD83Db`, `\uD83D\uDE00\uD83D`, "\xff\\u0041", `\uD800` + "\xed\xa0\x80",
}

func TestDecodeUSameAsEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, f := range escapeForms {
		sameAsEncodingJSON(t, f)
	}
}

func FuzzDecodeU(f *testing.F) {
	for _, s := range escapeForms {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		sameAsEncodingJSON(t, content)
		// DecodeU never reads past what it reports using, or past b.
		r, n := DecodeU([]byte(content))
		if n != 0 && n != 4 && n != 10 || n > len(content) || n == 0 && r != 0 {
			t.Fatalf("DecodeU(%q) = %U, %d", content, r, n)
		}
	})
}

func BenchmarkDecodeU(b *testing.B) {
	for _, c := range []struct{ name, in string }{
		{"bmp", "00e9"},
		{"pair", `D83D\uDE00`},
		{"lone", `D800\u0041`},
	} {
		in := []byte(c.in)
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				DecodeU(in)
			}
		})
	}
}
