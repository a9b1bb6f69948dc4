package rooms

import (
	"fmt"
	"testing"
	"time"
)

// benchPolicy is n rooms, the first two weighted, all in the priority
// list; health has the first room degraded to 40 %.
func benchPolicy(n int) (Policy, Health) {
	p := Policy{Weights: map[string]int{}}
	h := Health{}
	for i := range n {
		r := fmt.Sprintf("room%d", i)
		p.Priority = append(p.Priority, r)
		p.Weights[r] = 0
		h[r] = RoomHealth{Healthy: 10, Total: 10}
	}
	p.Weights["room0"], p.Weights["room1"] = 70, 30
	h["room0"] = RoomHealth{Healthy: 4, Total: 10}
	return p, h
}

// BenchmarkDistribute: one stateless distribution (the evaluator runs it
// once per service per second).
func BenchmarkDistribute(b *testing.B) {
	for _, n := range []int{2, 8} {
		p, h := benchPolicy(n)
		b.Run(fmt.Sprintf("rooms=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Distribute(p, h)
			}
		})
	}
}

// BenchmarkEvaluate: one Failover evaluation plus building the Chooser
// from it, the evaluator's whole per-service work.
func BenchmarkEvaluate(b *testing.B) {
	for _, n := range []int{2, 8} {
		p, h := benchPolicy(n)
		f := NewFailover()
		now := t0
		b.Run(fmt.Sprintf("rooms=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(time.Second)
				d, _ := f.Evaluate(now, p, h)
				NewChooser(d)
			}
		})
	}
}
