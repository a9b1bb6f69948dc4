package engine

// BucketRanges turns numVariations, a coverage and weights into one
// [start, end) range per variation, as GrowthBook's getBucketRanges:
// coverage is clamped to [0,1]; weights that are nil, of another length
// than numVariations, or whose sum lies outside [0.99, 1.01] are replaced
// by equal weights. Variation i starts at the sum of the weights before
// it and covers coverage·weight of the line, so raising coverage or
// changing later weights never moves a unit out of the variation it was
// in. numVariations ≤ 0 gives no ranges.
func BucketRanges(numVariations int, coverage float64, weights []float64) [][2]float64 {
	return AppendBucketRanges(nil, numVariations, coverage, weights)
}

// AppendBucketRanges appends BucketRanges(numVariations, coverage,
// weights) to dst and returns it, so that a caller with a buffer does not
// allocate.
func AppendBucketRanges(dst [][2]float64, numVariations int, coverage float64, weights []float64) [][2]float64 {
	if coverage < 0 {
		coverage = 0
	} else if coverage > 1 {
		coverage = 1
	}
	if numVariations <= 0 {
		numVariations = 0
	}
	equal := weights == nil || len(weights) != numVariations
	if !equal {
		total := 0.0
		for _, w := range weights {
			total += w
		}
		equal = total < 0.99 || total > 1.01
	}
	if dst == nil {
		dst = make([][2]float64, 0, numVariations)
	}
	cumulative := 0.0
	for i := range numVariations {
		w := 1 / float64(numVariations)
		if !equal {
			w = weights[i]
		}
		start := cumulative
		cumulative += w
		// float64(...) stops the compiler fusing the multiply-add, so the
		// rounding is JavaScript's on every architecture.
		dst = append(dst, [2]float64{start, start + float64(coverage*w)})
	}
	return dst
}

// ChooseVariation returns the index of the first range with
// start ≤ n < end, or −1 when n is in none (the unit is outside the
// experiment's coverage).
func ChooseVariation(n float64, ranges [][2]float64) int {
	for i, r := range ranges {
		if n >= r[0] && n < r[1] {
			return i
		}
	}
	return -1
}

// InNamespace reports whether userID falls in the namespace id's slice
// [start, end): Hash("__"+id, userID, 1) in that range, as GrowthBook's
// inNamespace. It does not allocate.
func InNamespace(userID string, id string, start, end float64) bool {
	n := float64(fnv16(fnv16(fnv16(fnvOffset32, userID), "__"), id)%1000) / 1000
	return n >= start && n < end
}
