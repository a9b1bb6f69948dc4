package config_test

import (
	"maps"
	"testing"
	"unicode/utf8"

	"github.com/wharfhq/wharf/client/config"
)

func TestParseProperties(t *testing.T) {
	t.Parallel()
	text := "# comment\n! also\n  a = 1\nb:2\nc 3\nd=\ne\\=x=y\nlong = one \\\n    two\nuni=\\u00e9t\\u00E9\ntab=a\\tb\nlast=1\nlast=2\r\ncrlf=ok\r\n"
	got := config.ParseProperties(text)
	want := map[string]string{"a": "1", "b": "2", "c": "3", "d": "", "e=x": "y", "long": "one two",
		"uni": "été", "tab": "a\tb", "last": "2", "crlf": "ok"}
	if !maps.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestFormatPropertiesRoundTrips(t *testing.T) {
	t.Parallel()
	in := map[string]string{"plain": "v", "a key": " leading blank", "k=v": "x:y", "#hash": "#not a comment",
		"multi": "line1\nline2\\", "": "empty key", "ctl": "\x01", "uni": "日本"}
	if got := config.ParseProperties(config.FormatProperties(in)); !maps.Equal(got, in) {
		t.Errorf("round trip: got %q, want %q", got, in)
	}
}

func FuzzPropertiesRoundTrip(f *testing.F) {
	f.Add("k", "v")
	f.Add(" k=", "\\\n#")
	f.Add("!", " ")
	f.Fuzz(func(t *testing.T, k, v string) {
		config.ParseProperties(k + "=" + v) // never panics
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return
		}
		in := map[string]string{k: v}
		if got := config.ParseProperties(config.FormatProperties(in)); !maps.Equal(got, in) {
			t.Errorf("round trip of %q=%q: got %q", k, v, got)
		}
	})
}

func TestFileNames(t *testing.T) {
	t.Parallel()
	for ns, want := range map[string]string{"application": "application.properties", "db.yaml": "db.yaml",
		"x.json": "x.json", "a.properties": "a.properties", "team.common": "team.common.properties"} {
		if got := config.FileName(ns); got != want {
			t.Errorf("FileName(%q) = %q, want %q", ns, got, want)
		}
	}
}
