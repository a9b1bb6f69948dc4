package ab

import (
	"github.com/wharfhq/wharf/functions/ab/stats"
	"github.com/wharfhq/wharf/monitoring/fielderr"
)

// Alpha is the results' significance level (95 % intervals).
const Alpha = 0.05

// parseTrim parses trim= (stats.ParseTrim: none, iqr, cap:P, each
// optionally :pooled; bounds per variation otherwise).
func parseTrim(s string) (stats.Trim, fielderr.List) {
	t, err := stats.ParseTrim(s)
	if err != nil {
		var errs fielderr.List
		errs.Add("trim", err.Error())
		return stats.Trim{}, errs
	}
	return t, nil
}

// MetricResult is one metric's statistics per variation.
type MetricResult struct {
	Metric string `json:"metric"`
	// Kind is "mean" (Welch's t-test on the per-unit totals) or
	// "proportion" (every unit's total is 0 or 1: two-proportion test).
	Kind       string            `json:"kind"`
	Variations []VariationResult `json:"variations"`
	// SRM is the split of this metric's units after trimming.
	SRM SRM `json:"srm"`
}

// VariationResult is one variation's statistics for a metric; the
// comparison against variation 0 (the control) is absent for it and when
// there are too few units.
type VariationResult struct {
	stats.Summary
	// Trimmed is how many units trimming removed from this variation.
	Trimmed    int                         `json:"trimmed"`
	Comparison *stats.Comparison           `json:"comparison,omitempty"`
	Proportion *stats.ProportionComparison `json:"proportion,omitempty"`
	// PAdjusted is the Holm–Bonferroni adjusted p-value across every
	// metric and variation of the request (with holm=true).
	PAdjusted *float64 `json:"p_adjusted,omitempty"`
}

// P is the comparison's p-value (0 without one).
func (v VariationResult) P() (float64, bool) {
	switch {
	case v.Comparison != nil:
		return v.Comparison.PValue, true
	case v.Proportion != nil:
		return v.Proportion.PValue, true
	}
	return 0, false
}

// analyze computes the statistics of metric's per-unit values by arm:
// the values of the units that sent the metric (trimmed or capped by
// bounds computed over them alone) and zeros[i] units of arm i that did
// not (0 each, never trimmed: with them in the bounds, a metric most
// units do not send would have Q1 = Q3 = 0 and lose every unit that
// sent it).
func analyze(metric string, arms [][]float64, zeros []int, weights []float64, trim stats.Trim) MetricResult {
	arms, lost := trim.Apply(arms)
	for i := range arms {
		for range zeros[i] {
			arms[i] = append(arms[i], 0)
		}
	}
	out := MetricResult{Metric: metric, Kind: "mean", Variations: make([]VariationResult, len(arms))}
	if binary(arms) {
		out.Kind = "proportion"
	}
	counts := make([]int64, len(arms))
	ones := make([]int, len(arms))
	for i, a := range arms {
		out.Variations[i].Summary = stats.Summarize(a)
		out.Variations[i].Trimmed = lost[i]
		counts[i] = int64(len(a))
		for _, x := range a {
			if x == 1 {
				ones[i]++
			}
		}
	}
	for i := 1; i < len(arms); i++ {
		v := &out.Variations[i]
		if out.Kind == "proportion" {
			if c, err := stats.TwoProportions(ones[0], len(arms[0]), ones[i], len(arms[i]), Alpha); err == nil {
				v.Proportion = &c
			}
			continue
		}
		if c, err := stats.Welch(out.Variations[0].Summary, v.Summary, Alpha); err == nil {
			v.Comparison = &c
		}
	}
	out.SRM = checkSRM(counts, weights)
	return out
}

// binary reports whether every value is 0 or 1 (and there is one).
func binary(arms [][]float64) bool {
	n := 0
	for _, a := range arms {
		for _, x := range a {
			if x != 0 && x != 1 {
				return false
			}
			n++
		}
	}
	return n > 0
}

// applyHolm sets PAdjusted across every comparison of ms.
func applyHolm(ms []MetricResult) {
	var ps []float64
	var at []*VariationResult
	for i := range ms {
		for j := range ms[i].Variations {
			v := &ms[i].Variations[j]
			if p, ok := v.P(); ok {
				ps = append(ps, p)
				at = append(at, v)
			}
		}
	}
	for k, p := range stats.HolmBonferroni(ps) {
		at[k].PAdjusted = &p
	}
}
