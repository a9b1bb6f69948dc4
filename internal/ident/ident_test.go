package ident

import (
	"strings"
	"testing"
)

func TestName(t *testing.T) {
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
