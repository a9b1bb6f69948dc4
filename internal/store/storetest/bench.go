package storetest

import (
	"fmt"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
)

// BenchSwapMany is the judge's flush as a benchmark of an engine:
// 100,000 states of 200 bytes stored, 1,000 of them written per
// store.CompareAndSwapMany, going round; it reports ns/record. Engines'
// BenchmarkCompareAndSwapMany call it, so their figures compare.
func BenchSwapMany(b *testing.B, s store.Store) {
	ctx := b.Context()
	const total, n = 100_000, 1000
	val := make([]byte, 200)
	swaps := make([]store.Swap, total)
	for i := range swaps {
		swaps[i] = store.Swap{Key: fmt.Sprintf("monitor/judge/state/s_cpu_%032x", i*7919%total), Value: val}
	}
	for i := 0; i < total; i += n {
		res, err := store.CompareAndSwapMany(ctx, s, swaps[i:i+n])
		if err != nil {
			b.Fatal(err)
		}
		for k, r := range res {
			swaps[i+k].Expect, swaps[i+k].Ref = r.Version, r.Ref
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	next := 0
	for b.Loop() {
		batch := swaps[next : next+n]
		res, err := store.CompareAndSwapMany(ctx, s, batch)
		if err != nil {
			b.Fatal(err)
		}
		for i, r := range res {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
			batch[i].Expect, batch[i].Ref = r.Version, r.Ref // as the judge does
		}
		next = (next + n) % total
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}
