package stats

import (
	"math"
	"slices"
)

// HolmBonferroni adjusts p-values for testing several metrics at once
// (Holm's step-down method): sorted ascending, the i-th smallest (from 0)
// becomes max over j ≤ i of min(1, (m − j)·p₍ⱼ₎). Rejecting where the
// adjusted p-value is below α keeps the family-wise error rate at α. The
// result is in the order of pValues; NaN stays NaN and is not counted.
func HolmBonferroni(pValues []float64) []float64 {
	out := make([]float64, len(pValues))
	idx := make([]int, 0, len(pValues))
	for i, p := range pValues {
		if math.IsNaN(p) {
			out[i] = p
			continue
		}
		idx = append(idx, i)
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case pValues[a] < pValues[b]:
			return -1
		case pValues[a] > pValues[b]:
			return 1
		}
		return 0
	})
	m := len(idx)
	running := 0.0
	for rank, i := range idx {
		adj := math.Min(1, float64(m-rank)*pValues[i])
		running = math.Max(running, adj)
		out[i] = running
	}
	return out
}
