package unpack

import (
	"archive/tar"
	"bytes"
	"strings"
	"testing"
)

// fuzzLimits keep each fuzz run small.
var fuzzLimits = Limits{MaxBytes: 1 << 20, MaxFiles: 200, MaxPathLen: 512}

// seeds are the hand-made malicious archives plus a good one.
func seeds(f *testing.F) [][]byte {
	return [][]byte{
		rawTar(f, dir("app/"), file("app/wharf.yaml", "app: x\n"), file("app/bin", "#!"), symlink("app/l", "bin"), hardlink("app/h", "app/bin")),
		rawTar(f, file("../../etc/x", "pwned")),
		rawTar(f, file("/etc/x", "pwned")),
		rawTar(f, symlink("link", "/etc"), file("link/passwd", "x")),
		rawTar(f, symlink("link", "../outside"), file("link/passwd", "x")),
		rawTar(f, dir("d/"), symlink("d/up", ".."), symlink("esc", "d/up/..")),
		rawTar(f, symlink("a", "b"), symlink("b", "a")),
		rawTar(f, hardlink("h", "../../etc/passwd")),
		rawTar(f, file("x", "1"), hardlink("h", "x"), file("h2", "2")),
		rawTar(f, ent{name: "dev", typ: tar.TypeChar}, ent{name: "p", typ: tar.TypeFifo}),
		rawTar(f, file("a", "1"), file("a/b", "2"), file("a", "3")),
		rawTar(f, file(strings.Repeat("n/", 300)+"f", "x")),
		rawTar(f, file("big", strings.Repeat("z", 4096)), file("next", "x"))[:3000], // truncated
	}
}

// FuzzExtract feeds arbitrary tar streams (gzip-compressed by the harness)
// to Extract and checks that nothing escapes the root, that a failure leaves
// the root empty, and that a success leaves only directories, regular files
// and links resolving inside the root, within the limits.
func FuzzExtract(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		s := newSandbox(t)
		_, err := Extract(t.Context(), bytes.NewReader(gz(t, raw)), s.root, fuzzLimits)
		s.untouched(t)
		if err != nil {
			s.rootEmpty(t)
			return
		}
		checkTree(t, s.root, fuzzLimits)
	})
}

// FuzzExtractStream feeds arbitrary bytes as the bundle itself, covering
// compression detection and both decompressors.
func FuzzExtractStream(f *testing.F) {
	for _, s := range seeds(f)[:4] {
		f.Add(gz(f, s))
		f.Add(zst(f, s))
	}
	f.Add([]byte{0x1f, 0x8b})
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newSandbox(t)
		_, err := Extract(t.Context(), bytes.NewReader(data), s.root, fuzzLimits)
		s.untouched(t)
		if err != nil {
			s.rootEmpty(t)
			return
		}
		checkTree(t, s.root, fuzzLimits)
	})
}
