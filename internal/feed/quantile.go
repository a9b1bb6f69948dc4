package feed

import "math"

// Quantile estimates the q-quantile (0..1) of observations counted in a
// Prometheus histogram's buckets, as histogram_quantile does: bounds are the
// finite upper bounds in ascending order, counts the per-bucket (not
// cumulative) counts, one more than bounds (the last is +Inf). Linear
// interpolation inside the bucket; an answer in the +Inf bucket is the
// largest finite bound. NaN when there are no observations.
func Quantile(q float64, bounds []float64, counts []uint64) float64 {
	var total uint64
	for _, c := range counts {
		total += c
	}
	if total == 0 || len(counts) != len(bounds)+1 {
		return math.NaN()
	}
	rank := q * float64(total)
	var cum uint64
	for i, c := range counts {
		if c == 0 || float64(cum+c) < rank {
			cum += c
			continue
		}
		if i == len(bounds) {
			return bounds[len(bounds)-1]
		}
		lo := 0.0
		if i > 0 {
			lo = bounds[i-1]
		}
		return lo + (bounds[i]-lo)*(rank-float64(cum))/float64(c)
	}
	if len(bounds) == 0 {
		return math.NaN()
	}
	return bounds[len(bounds)-1]
}
