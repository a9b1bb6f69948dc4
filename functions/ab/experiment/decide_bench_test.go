package experiment_test

import (
	"strconv"
	"testing"

	"github.com/wharfhq/wharf/functions/ab/experiment"
)

// BenchmarkDecide is one experiment evaluated for one unit: layer
// position, hash, ranges and choice (the target: < 2 µs, 0 allocations).
func BenchmarkDecide(b *testing.B) {
	layer := &experiment.Layer{Name: "l", Team: "shop", Salt: "shop/l"}
	e := exp("bench", 0.2, 0.3, 0.5)
	e.Layer, e.Range, e.Coverage = "l", [2]int{0, 10000}, 0.9
	c := experiment.Compile(e, layer)
	ids := make([]map[string]any, 1024)
	for i := range ids {
		ids[i] = map[string]any{"id": "user-" + strconv.Itoa(i)}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Decide(ids[i&1023])
		i++
	}
}

// BenchmarkDecideWithCondition adds a targeting condition.
func BenchmarkDecideWithCondition(b *testing.B) {
	e := exp("bench", 0.5, 0.5)
	e.Condition = map[string]any{"country": map[string]any{"$in": []any{"fr", "de"}}}
	c := experiment.Compile(e, nil)
	attrs := map[string]any{"id": "user-1", "country": "fr"}
	b.ReportAllocs()
	for b.Loop() {
		c.Decide(attrs)
	}
}
