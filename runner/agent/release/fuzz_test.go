package release

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzNames: an accepted app or version is one plain path component that
// cannot climb out of, or collide with the temporary names in, its parent.
func FuzzNames(f *testing.F) {
	for _, s := range []string{"v1", "1.2.3-rc.1+b5", "..", "../x", "a/b", `a\b`, ".tmp-x", "shop", "x\x00", strings.Repeat("a", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, check := range []func(string) error{checkApp, checkVersion} {
			if check(s) != nil {
				continue
			}
			parent := filepath.Join("/root", "releases")
			p := filepath.Join(parent, s)
			if filepath.Dir(p) != parent || filepath.Base(p) != s || strings.HasPrefix(s, ".") ||
				strings.ContainsAny(s, "/\\\x00") || len(s) > MaxVersionLen {
				t.Fatalf("accepted %q", s)
			}
		}
	})
}

// FuzzDecodeMarker: any bytes are decoded or refused, never accepted with
// fields that do not match.
func FuzzDecodeMarker(f *testing.F) {
	f.Add([]byte(`{"app":"shop","version":"v1","sha256":"` + strings.Repeat("a", 64) + `","size":1,"installed_at":"2025-01-01T00:00:00Z"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		mk, err := decodeMarker(data, "shop", "v1")
		if err != nil {
			return
		}
		if mk.App != "shop" || mk.Version != "v1" || len(mk.SHA256) != 64 || mk.InstalledAt.IsZero() || mk.Size < 0 {
			t.Fatalf("accepted %+v", mk)
		}
	})
}
