package stats

// SRM is the sample ratio mismatch check of one experiment: Pearson's χ²
// of the units seen per variation against the configured split.
type SRM struct {
	// ChiSquare is Σ (observed − expected)² / expected over the variations
	// with a positive weight; DF is their number − 1.
	ChiSquare float64 `json:"chi_square"`
	DF        int     `json:"df"`
	// PValue is P(χ²(DF) ≥ ChiSquare); 1 with no units or one variation.
	PValue float64 `json:"p_value"`
}

// CheckSRM compares observed units per variation with weights (any
// positive scale; they are normalized over the variations with a positive
// weight, as GrowthBook's check_srm does, and units of a variation with
// weight 0 are left out). It equals scipy.stats.chisquare(observed,
// f_exp) with f_exp the weights scaled to the observed total.
func CheckSRM(observed []float64, weights []float64) SRM {
	total, totalWeight := 0.0, 0.0
	k := 0
	for i, o := range observed {
		if i < len(weights) && weights[i] > 0 {
			total += o
			totalWeight += weights[i]
			k++
		}
	}
	if total <= 0 || k < 2 {
		return SRM{PValue: 1, DF: max(k-1, 0)}
	}
	x := 0.0
	for i, o := range observed {
		if i >= len(weights) || weights[i] <= 0 {
			continue
		}
		e := weights[i] / totalWeight * total
		d := o - e
		x += d * d / e
	}
	return SRM{ChiSquare: x, DF: k - 1, PValue: ChiSquareSF(x, float64(k-1))}
}

// Independence is Pearson's χ² test of independence on a contingency
// table of counts (rows × columns, e.g. the variations of two layers'
// experiments for the same units), without continuity correction, as
// scipy.stats.chi2_contingency(table, correction=False). Rows or columns
// that are all zero are left out.
func Independence(table [][]float64) SRM {
	rows := make([]float64, len(table))
	var cols []float64
	total := 0.0
	for i, r := range table {
		for j, v := range r {
			for len(cols) <= j {
				cols = append(cols, 0)
			}
			rows[i] += v
			cols[j] += v
			total += v
		}
	}
	nr, nc := 0, 0
	for _, r := range rows {
		if r > 0 {
			nr++
		}
	}
	for _, c := range cols {
		if c > 0 {
			nc++
		}
	}
	if total <= 0 || nr < 2 || nc < 2 {
		return SRM{PValue: 1}
	}
	x := 0.0
	for i, r := range table {
		for j := range cols {
			if rows[i] == 0 || cols[j] == 0 {
				continue
			}
			v := 0.0
			if j < len(r) {
				v = r[j]
			}
			e := rows[i] * cols[j] / total
			x += (v - e) * (v - e) / e
		}
	}
	df := (nr - 1) * (nc - 1)
	return SRM{ChiSquare: x, DF: df, PValue: ChiSquareSF(x, float64(df))}
}

// Flagged reports whether s is a sample ratio mismatch worth a warning:
// p < 0.001 with at least minUnits units in total.
func (s SRM) Flagged(units, minUnits int) bool {
	return units >= minUnits && s.PValue < 0.001
}
