package ident

import (
	"strings"
	"testing"
)

func TestName(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"bj": true, "shop-eu_1": true, "0": true, strings.Repeat("a", 63): true,
		"": false, "-a": false, "_a": false, "Bj": false, "a.b": false, "a b": false, strings.Repeat("a", 64): false, "é": false,
	} {
		if got := Name(s); got != want {
			t.Errorf("Name(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzName(f *testing.F) {
	f.Add("shop")
	f.Fuzz(func(t *testing.T, s string) {
		if Name(s) && (len(s) > MaxName || strings.ContainsAny(s, "./ A")) {
			t.Fatalf("accepted %q", s)
		}
	})
}

func TestPrintable(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"": true, "scraping /login, see INC-12": true, "crème brûlée ✓": true,
		"a\x00b": false, "a\nb": false, "\x1b[31mred": false, "a\x7f": false, "\xff": false,
		"a\u0085b": false, "evil\u202Egnp.exe": false, "\u2066x": false,
	} {
		if got := Printable(s); got != want {
			t.Errorf("Printable(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"1", "1.4.2", "2026-11-21+build.7", "v1_2", strings.Repeat("9", 128)} {
		if !Version(ok) {
			t.Errorf("Version(%q) = false", ok)
		}
	}
	for _, bad := range []string{"", ".1", "-1", "../../x", "1/2", "1 2", "1\x00", strings.Repeat("9", 129), "é1"} {
		if Version(bad) {
			t.Errorf("Version(%q) = true", bad)
		}
	}
}
