package unpack

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/wharfhq/wharf/artifacts/bundle"
)

// fillText fills buf with source-like text that compresses about 3:1.
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

// BenchmarkExtract unpacks a 32 MiB bundle of 64 files; MB/s is of content.
func BenchmarkExtract(b *testing.B) {
	src := b.TempDir()
	os.WriteFile(filepath.Join(src, "wharf.yaml"), []byte("app: bench\nprocesses:\n  web: ./x\n"), 0o644)
	r := rand.New(rand.NewChaCha8([32]byte{3}))
	buf := make([]byte, 512<<10)
	var total int64
	for i := range 64 {
		fillText(r, buf)
		p := filepath.Join(src, fmt.Sprintf("src/pkg%d/file%d.txt", i%8, i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, buf, 0o644)
		total += int64(len(buf))
	}
	for _, c := range []bundle.Compression{bundle.Gzip, bundle.Zstd} {
		b.Run(c.String(), func(b *testing.B) {
			var packed bytes.Buffer
			if _, err := bundle.Pack(b.Context(), src, &packed, bundle.PackOptions{Compression: c}); err != nil {
				b.Fatal(err)
			}
			base := b.TempDir()
			b.SetBytes(total)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				dir := filepath.Join(base, fmt.Sprint(i))
				os.Mkdir(dir, 0o755)
				if _, err := Extract(b.Context(), bytes.NewReader(packed.Bytes()), dir, Limits{}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				os.RemoveAll(dir)
				b.StartTimer()
			}
		})
	}
}
