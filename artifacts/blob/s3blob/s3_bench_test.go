package s3blob

import (
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/wharfhq/wharf/artifacts/blob"
	"github.com/wharfhq/wharf/internal/testenv"
)

// repeat yields n bytes cycling through a random block, as a plain
// io.Reader (no Seek, no ReadAt), like a request body.
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

// BenchmarkPut compares Put (create-only, SHA-256 on the way, default 8 MiB
// parts × 3 in flight) with a plain minio-go PutObject of the same stream to
// the same MinIO on loopback.
func BenchmarkPut(b *testing.B) {
	m := testenv.StartMinIO(b)
	const size = 64 << 20
	opts := Options{Endpoint: m.Addr, AccessKey: m.AccessKey, SecretKey: m.SecretKey, Bucket: "bench"}
	be, err := New(b.Context(), opts)
	if err != nil {
		b.Fatal(err)
	}
	body := newRepeat(size)
	b.Run("wharf-Put-64MiB", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			body.left, body.off = size, 0
			if _, err := be.Put(b.Context(), fmt.Sprintf("put/%d", i), body, size, blob.PutOptions{}); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("minio-go-PutObject-64MiB", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			body.left, body.off = size, 0
			if _, err := be.Client().PutObject(b.Context(), "bench", fmt.Sprintf("raw/%d", i), body, size, minio.PutObjectOptions{}); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
