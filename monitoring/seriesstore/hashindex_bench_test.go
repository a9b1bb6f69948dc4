package seriesstore

import (
	"fmt"
	"testing"
)

// BenchmarkIndexLookup100k: Append's lookup of a series by key among
// 100,000 (keys shaped like the monitoring bench's, looked up in the
// order a pusher sends them, reading the series' epoch as logPoint
// does): the Go map against the hash index. ns/op is per lookup.
func BenchmarkIndexLookup100k(b *testing.B) {
	const n = 100_000
	keys := make([]string, n)
	m := make(map[string]*series, n)
	x := newHashIndex()
	for i := range keys {
		keys[i] = fmt.Sprintf("host-%d/bench.load/env=bench,k=%d", i/10, i%10)
		e := &series{key: keys[i], logged: uint64(i)}
		m[keys[i]] = e
		x.put(e)
	}
	// The working set of the store's other data evicts the index between
	// passes; walking a buffer bigger than the cache stands in for it.
	junk := make([]byte, 64<<20)
	evict := func() {
		for i := 0; i < len(junk); i += 64 {
			junk[i]++
		}
	}
	for _, tc := range []struct {
		name string
		get  func(string) *series
	}{
		{"map", func(k string) *series { return m[k] }},
		{"hash", x.get},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var sum uint64
			i := 0
			for b.Loop() {
				if i%n == 0 {
					b.StopTimer()
					evict()
					b.StartTimer()
				}
				sum += tc.get(keys[i%n]).logged
				i++
			}
			_ = sum
		})
	}
}
