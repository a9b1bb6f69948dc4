package rooms

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func benchDist(n int) Distribution {
	d := Distribution{}
	for i := range n {
		d[fmt.Sprintf("room%d", i)] = float64(i + 1)
	}
	return d
}

// BenchmarkPick: one weighted random room per op, as per request.
func BenchmarkPick(b *testing.B) {
	for _, n := range []int{2, 8} {
		c := NewChooser(benchDist(n))
		b.Run(fmt.Sprintf("rooms=%d/serial", n), func(b *testing.B) {
			b.ReportAllocs()
			sink := 0
			for b.Loop() {
				sink += c.PickIndex(rand.Uint64())
			}
			_ = sink
		})
		b.Run(fmt.Sprintf("rooms=%d/parallel", n), func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				sink := 0
				for pb.Next() {
					sink += c.PickIndex(rand.Uint64())
				}
				_ = sink
			})
		})
	}
}

// BenchmarkPickSticky: weighted rendezvous hashing of a client key (an
// IPv4 address and a 36-byte session id).
func BenchmarkPickSticky(b *testing.B) {
	for _, n := range []int{2, 8} {
		c := NewChooser(benchDist(n))
		for _, key := range []string{"203.0.113.77", "6f1c2a5e-93b4-4d1e-8a77-0c5b9e2d4f10"} {
			k := []byte(key)
			b.Run(fmt.Sprintf("rooms=%d/key=%dB/serial", n, len(k)), func(b *testing.B) {
				b.ReportAllocs()
				sink := 0
				for b.Loop() {
					sink += c.PickStickyIndex(k)
				}
				_ = sink
			})
		}
		k := []byte("203.0.113.77")
		b.Run(fmt.Sprintf("rooms=%d/key=%dB/parallel", n, len(k)), func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				sink := 0
				for pb.Next() {
					sink += c.PickStickyIndex(k)
				}
				_ = sink
			})
		})
	}
}
