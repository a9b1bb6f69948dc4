package diskblob

import (
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/wharfhq/wharf/artifacts/blob"
)

// repeat yields n bytes cycling through a random block: cheap to produce,
// so the benchmark measures Put.
type repeat struct {
	block []byte
	left  int64
	off   int
}

func newRepeat(n int64) *repeat {
	block := make([]byte, 1<<20)
	r := rand.NewChaCha8([32]byte{1})
	r.Read(block)
	return &repeat{block: block, left: n}
}

func (r *repeat) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n := copy(p, r.block[r.off:])
	r.off = (r.off + n) % len(r.block)
	r.left -= int64(n)
	return n, nil
}

// BenchmarkPut streams bodies into the disk backend (hash, write, fsync,
// link). The fsync dominates small bodies.
func BenchmarkPut(b *testing.B) {
	for _, size := range []int64{64 << 10, 64 << 20} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			be, err := New(Options{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer be.Close()
			body := newRepeat(size)
			b.SetBytes(size)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				body.left, body.off = size, 0
				if _, err := be.Put(b.Context(), fmt.Sprintf("bench/%d", i), body, size, blob.PutOptions{}); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkGet streams a 64 MiB blob out of the disk backend.
func BenchmarkGet(b *testing.B) {
	be, err := New(Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	const size = 64 << 20
	if _, err := be.Put(b.Context(), "x", newRepeat(size), size, blob.PutOptions{}); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 256<<10)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		rc, _, err := be.Get(b.Context(), "x")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(io.Discard, onlyReader{rc}, buf); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
}

type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }
