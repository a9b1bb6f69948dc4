package logstore_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/logstore"
)

// BenchmarkCompareAndSwapMany is buntstore's benchmark of the same name on
// the log store: 100,000 states of 200 bytes (the judge's 100,000
// series), 1,000 of them written per call, going round.
func BenchmarkCompareAndSwapMany(b *testing.B) {
	s, err := logstore.Open(logstore.Options{Path: filepath.Join(b.TempDir(), "bench.log")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	ctx := b.Context()
	const total, n = 100_000, 1000
	val := make([]byte, 200)
	swaps := make([]store.Swap, total)
	for i := range swaps {
		swaps[i] = store.Swap{Key: fmt.Sprintf("monitor/judge/state/s_cpu_%032x", i*7919%total), Value: val}
	}
	for i := 0; i < total; i += n {
		res, err := s.CompareAndSwapMany(ctx, swaps[i:i+n])
		if err != nil {
			b.Fatal(err)
		}
		for k, r := range res {
			swaps[i+k].Expect = r.Version
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	next := 0
	for b.Loop() {
		batch := swaps[next : next+n]
		res, err := s.CompareAndSwapMany(ctx, batch)
		if err != nil {
			b.Fatal(err)
		}
		for i, r := range res {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
			batch[i].Expect = r.Version
		}
		next = (next + n) % total
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}
