package stats

import "math"

// Summary is one variation's per-unit values of one metric.
type Summary struct {
	// Units is the number of units (values).
	Units int `json:"units"`
	// Mean is the average value per unit.
	Mean float64 `json:"mean"`
	// Variance is the sample variance (n − 1 in the denominator, numpy's
	// var with ddof=1); 0 for fewer than two units.
	Variance float64 `json:"variance"`
}

// Summarize returns the units, mean and sample variance of values: the
// mean of the values, then the mean square deviation from it (two
// passes, so that a large common offset costs no digits), both summed
// pairwise in numpy's order, so that they equal numpy.mean and
// numpy.var(ddof=1) to the last bits.
func Summarize(values []float64) Summary {
	n := len(values)
	if n == 0 {
		return Summary{}
	}
	mean := numpySum(values, 0, false) / float64(n)
	if n < 2 {
		return Summary{Units: n, Mean: mean}
	}
	return Summary{Units: n, Mean: mean, Variance: numpySum(values, mean, true) / float64(n-1)}
}

const (
	// pairwiseBlock is numpy's PW_BLOCKSIZE.
	pairwiseBlock = 128
	// reduceBuffer is numpy's default ufunc buffer size: add.reduce hands
	// the inner loop 8192 values at a time and adds up the chunks' sums.
	reduceBuffer = 8192
)

// numpySum is numpy.add.reduce of v (or of (v − mean)²): pairwise sums
// of 8192-value chunks, added in order.
func numpySum(v []float64, mean float64, squares bool) float64 {
	sum := 0.0
	for len(v) > 0 {
		k := min(len(v), reduceBuffer)
		sum += pairwiseSum(v[:k], mean, squares)
		v = v[k:]
	}
	return sum
}

// pairwiseSum is numpy's pairwise summation (umath's pairwise_sum) of
// v, or of (v − mean)² when squares is set: a plain loop below 8 values,
// eight running sums up to 128, halves (at a multiple of 8) above.
func pairwiseSum(v []float64, mean float64, squares bool) float64 {
	at := func(i int) float64 {
		if squares {
			d := v[i] - mean
			return d * d
		}
		return v[i]
	}
	n := len(v)
	switch {
	case n < 8:
		res := 0.0
		for i := range n {
			res += at(i)
		}
		return res
	case n <= pairwiseBlock:
		var r [8]float64
		for j := range 8 {
			r[j] = at(j)
		}
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := range 8 {
				r[j] += at(i + j)
			}
		}
		res := (r[0] + r[1]) + (r[2] + r[3]) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			res += at(i)
		}
		return res
	}
	n2 := n / 2
	n2 -= n2 % 8
	return pairwiseSum(v[:n2], mean, squares) + pairwiseSum(v[n2:], mean, squares)
}

// SummaryFromMoments returns the summary of n units whose values add up to
// sum and whose squares add up to sumSquares, for an aggregator that keeps
// running totals. It loses digits when the variance is small next to the
// squared mean; Summarize does not.
func SummaryFromMoments(n int, sum, sumSquares float64) Summary {
	if n == 0 {
		return Summary{}
	}
	mean := sum / float64(n)
	if n < 2 {
		return Summary{Units: n, Mean: mean}
	}
	v := (sumSquares - sum*mean) / float64(n-1)
	return Summary{Units: n, Mean: mean, Variance: math.Max(v, 0)}
}

// ProportionSummary is the summary of a binomial metric: successes of n
// units, each unit 1 or 0. Its variance is the sample variance of those
// ones and zeros.
func ProportionSummary(successes, n int) Summary {
	if n == 0 {
		return Summary{}
	}
	p := float64(successes) / float64(n)
	if n < 2 {
		return Summary{Units: n, Mean: p}
	}
	return Summary{Units: n, Mean: p, Variance: p * (1 - p) * float64(n) / float64(n-1)}
}
