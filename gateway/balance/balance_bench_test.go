package balance

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// rrBaseline is the proxy package's RoundRobin (an atomic counter), copied
// here as the floor the weighted policies are compared against.
type rrBaseline struct{ next atomic.Uint64 }

func (r *rrBaseline) Pick(n int) int { return int((r.next.Add(1) - 1) % uint64(n)) }

func benchWeights(n int) []int {
	w := make([]int, n)
	for i := range w {
		w[i] = WeightScale + 37*i // unequal, like load-derived weights
	}
	return w
}

// BenchmarkPick: one Pick+Done per op, all instances eligible (nil mask) or
// one ejected (masked), serial and from GOMAXPROCS goroutines.
func BenchmarkPick(b *testing.B) {
	for _, n := range []int{4, 64} {
		b.Run(fmt.Sprintf("rr/n=%d/serial", n), func(b *testing.B) {
			var r rrBaseline
			b.ReportAllocs()
			for b.Loop() {
				r.Pick(n)
			}
		})
		b.Run(fmt.Sprintf("rr/n=%d/parallel", n), func(b *testing.B) {
			var r rrBaseline
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r.Pick(n)
				}
			})
		})
		for _, pol := range []Policy{PolicySWRR, PolicyP2C} {
			for _, masked := range []bool{false, true} {
				var m Mask
				kind := "all"
				if masked {
					m = make(Mask, MaskWords(n)).Fill(n)
					m.Clear(n / 2)
					kind = "masked"
				}
				bal, err := New(pol, benchWeights(n), Options{})
				if err != nil {
					b.Fatal(err)
				}
				b.Run(fmt.Sprintf("%s/n=%d/%s/serial", pol, n, kind), func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						bal.Done(bal.Pick(m))
					}
				})
				b.Run(fmt.Sprintf("%s/n=%d/%s/parallel", pol, n, kind), func(b *testing.B) {
					b.ReportAllocs()
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							bal.Done(bal.Pick(m))
						}
					})
				})
			}
		}
	}
}

// BenchmarkEjector: the per-request calls.
func BenchmarkEjector(b *testing.B) {
	e, err := NewEjector(64, EjectorOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("report-ok/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				e.Report(i&63, true)
				i++
			}
		})
	})
	b.Run("report-fail", func(b *testing.B) {
		e, err := NewEjector(64, EjectorOptions{Failures: 1 << 30})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			e.Report(3, false)
		}
	})
	b.Run("eligible-none-ejected/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			var buf [1]uint64
			for pb.Next() {
				e.Eligible(buf[:])
			}
		})
	})
	b.Run("eligible-one-ejected/parallel", func(b *testing.B) {
		e, err := NewEjector(64, EjectorOptions{Failures: 1, Base: time.Hour, Max: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		e.Report(5, false)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			var buf [1]uint64
			for pb.Next() {
				e.Eligible(buf[:])
			}
		})
	})
}

// BenchmarkWeights: recomputing 64 effective weights (per heartbeat batch,
// off the request path).
func BenchmarkWeights(b *testing.B) {
	w := mustWeigher(b, WeightOptions{})
	now := time.Now()
	static := make([]int, 64)
	loads := make([]Load, 64)
	for i := range loads {
		static[i] = 1
		loads[i] = Load{CPU: float64(i%10) / 10, InFlight: i, At: now}
	}
	dst := make([]int, 64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.Weights(dst, static, loads, now); err != nil {
			b.Fatal(err)
		}
	}
}
