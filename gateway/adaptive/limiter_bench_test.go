package adaptive

import (
	"testing"
	"time"
)

// BenchmarkAcquireRelease: one admitted request per op (Acquire, Release
// with the real clock, sampling every 100 µs as in production).
func BenchmarkAcquireRelease(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		l, err := New(Options{InitialLimit: 1 << 20})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if l.Acquire() {
				l.Release(time.Millisecond, false)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		l, err := New(Options{InitialLimit: 1 << 20})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if l.Acquire() {
					l.Release(time.Millisecond, false)
				}
			}
		})
	})
	// Every release sampled: the mutex path's cost, windows closing every
	// 200 ops.
	b.Run("every-sampled/parallel", func(b *testing.B) {
		l, err := New(Options{InitialLimit: 1 << 20, MaxLimit: 1 << 20, SampleInterval: time.Nanosecond})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if l.Acquire() {
					l.Release(time.Millisecond, false)
				}
			}
		})
	})
}

// BenchmarkAcquireRejected: the over-limit path (what the gateway pays per
// shed request before answering 503).
func BenchmarkAcquireRejected(b *testing.B) {
	l, err := New(Options{InitialLimit: 1, MinLimit: 1})
	if err != nil {
		b.Fatal(err)
	}
	if !l.Acquire() {
		b.Fatal("first Acquire refused")
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if l.Acquire() {
				b.Error("admitted over the limit")
			}
		}
	})
}
