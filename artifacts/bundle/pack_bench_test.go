package bundle

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// fillText fills buf with source-like text: random picks from a few hundred
// made-up identifiers and punctuation, which compresses about 3:1.
func fillText(r *rand.Rand, buf []byte) {
	words := make([]string, 300)
	for i := range words {
		w := make([]byte, 3+r.IntN(9))
		for j := range w {
			w[j] = byte('a' + r.IntN(26))
		}
		words[i] = string(w)
	}
	seps := []string{" ", " ", " ", "(", ") {\n\t", ", ", ";\n\t", " = ", ".", "\n}\n"}
	for n := 0; n < len(buf); {
		n += copy(buf[n:], words[r.IntN(len(words))])
		n += copy(buf[n:], seps[r.IntN(len(seps))])
	}
}

// benchTree writes 64 files of 512 KiB of source-like data plus a manifest, and returns the directory and the
// total size.
func benchTree(b *testing.B) (string, int64) {
	dir := b.TempDir()
	writeTree(b, dir, map[string]string{ManifestName: minimalManifest})
	r := rand.New(rand.NewChaCha8([32]byte{2}))
	buf := make([]byte, 512<<10)
	total := int64(len(minimalManifest))
	for i := range 64 {
		fillText(r, buf)
		p := filepath.Join(dir, fmt.Sprintf("src/pkg%d/file%d.txt", i%8, i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			b.Fatal(err)
		}
		total += int64(len(buf))
	}
	return dir, total
}

// BenchmarkPack packs a 32 MiB tree to io.Discard; MB/s is of input.
func BenchmarkPack(b *testing.B) {
	dir, total := benchTree(b)
	for _, c := range []Compression{Gzip, Zstd} {
		b.Run(c.String(), func(b *testing.B) {
			var cw countWriter
			b.SetBytes(total)
			b.ReportAllocs()
			for b.Loop() {
				cw = 0
				if _, err := Pack(b.Context(), dir, &cw, PackOptions{Compression: c}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(total)/float64(cw), "ratio")
		})
	}
}

// BenchmarkReadManifest reads the manifest from the front of a packed bundle.
func BenchmarkReadManifest(b *testing.B) {
	dir, _ := benchTree(b)
	var buf bytes.Buffer
	if _, err := Pack(b.Context(), dir, &buf, PackOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadManifest(bytes.NewReader(buf.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

var _ io.Writer = (*countWriter)(nil)

// BenchmarkSniffer streams a packed 32 MiB tree through a Sniffer, as a
// push does: the manifest plus the whole-stream limit check. MB/s is of
// the unpacked tree, the cost a push now pays to refuse compression bombs.
func BenchmarkSniffer(b *testing.B) {
	dir, total := benchTree(b)
	for _, c := range []Compression{Gzip, Zstd} {
		b.Run(c.String(), func(b *testing.B) {
			var buf bytes.Buffer
			if _, err := Pack(b.Context(), dir, &buf, PackOptions{Compression: c}); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(total)
			b.ReportAllocs()
			for b.Loop() {
				s := NewSniffer(Limits{})
				if _, err := io.Copy(s, bytes.NewReader(buf.Bytes())); err != nil {
					b.Fatal(err)
				}
				if _, err := s.Finish(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
