package bus

import (
	"context"
	"testing"

	"github.com/wharfhq/wharf/internal/testenv"
)

// BenchmarkProducerPublish measures one synchronous Publish (PUB and its
// acknowledgement) of a 256-byte body to a real nsqd, serially and from
// parallel goroutines sharing one Producer.
func BenchmarkProducerPublish(b *testing.B) {
	n := testenv.StartNSQD(b)
	p := newTestProducer(b, n.Addr)
	body := make([]byte, 256)
	ctx := context.Background()
	if err := p.Ping(ctx); err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if err := p.Publish(ctx, "bench-pub", body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := p.Publish(ctx, "bench-pub", body); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("multi100", func(b *testing.B) {
		batch := make([][]byte, 100)
		for i := range batch {
			batch[i] = body
		}
		b.ReportAllocs()
		b.SetBytes(int64(len(body) * len(batch)))
		for b.Loop() {
			if err := p.MultiPublish(ctx, "bench-pub", batch); err != nil {
				b.Fatal(err)
			}
		}
	})
}
