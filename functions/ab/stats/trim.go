package stats

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Percentile is numpy's default ("linear") percentile of sorted values at
// q in [0, 1]: the value at index h = (n − 1)·q, interpolated between its
// neighbours exactly as numpy.percentile(values, 100·q) rounds it.
// NaN for no values.
func Percentile(sorted []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 || math.IsNaN(q) {
		return math.NaN()
	}
	h := float64(n-1) * q
	lo := math.Floor(h)
	if lo < 0 {
		return sorted[0]
	}
	if int(lo) >= n-1 {
		return sorted[n-1]
	}
	a, b := sorted[int(lo)], sorted[int(lo)+1]
	g := h - lo
	// numpy's _lerp: a + (b−a)·g, or b − (b−a)·(1−g) from g ≥ ½ on.
	diff := b - a
	if g >= 0.5 {
		return b - diff*(1-g)
	}
	return a + diff*g
}

// TrimKind is how outliers are handled before the statistics.
type TrimKind int

const (
	// TrimNone keeps every unit.
	TrimNone TrimKind = iota
	// TrimIQR removes units outside [Q1 − 1.5·IQR, Q3 + 1.5·IQR] (the
	// boxplot rule), Q1 and Q3 numpy's linear percentiles.
	TrimIQR
	// TrimCap caps values above the Percentile-th percentile at it
	// (winsorizing the upper tail); no unit is removed.
	TrimCap
)

// Trim is an outlier rule.
type Trim struct {
	Kind TrimKind
	// Percentile is TrimCap's percentile in (0, 1], e.g. 0.99.
	Percentile float64
	// Pooled computes the bounds over all arms together; otherwise each
	// arm gets its own.
	Pooled bool
}

// ParseTrim reads "none" (or ""), "iqr", "iqr:pooled", "cap:0.99" or
// "cap:0.99:pooled" — the CLI's --trim values. Bounds are per arm unless
// ":pooled" is given.
func ParseTrim(s string) (Trim, error) {
	parts := strings.Split(s, ":")
	var t Trim
	if n := len(parts); n > 1 && parts[n-1] == "pooled" {
		t.Pooled = true
		parts = parts[:n-1]
	}
	switch {
	case len(parts) == 1 && (parts[0] == "" || parts[0] == "none"):
		if t.Pooled {
			return Trim{}, fmt.Errorf("cannot pool no trimming: %q", s)
		}
	case len(parts) == 1 && parts[0] == "iqr":
		t.Kind = TrimIQR
	case len(parts) == 2 && parts[0] == "cap":
		p, err := strconv.ParseFloat(parts[1], 64)
		if err != nil || !(p > 0 && p <= 1) {
			return Trim{}, fmt.Errorf("cannot cap at %q: the percentile must be a number in (0, 1], e.g. cap:0.99", parts[1])
		}
		t.Kind, t.Percentile = TrimCap, p
	default:
		return Trim{}, fmt.Errorf("cannot read trim %q: want none, iqr, cap:P (0 < P ≤ 1), optionally followed by :pooled", s)
	}
	return t, nil
}

// String is the form ParseTrim reads.
func (t Trim) String() string {
	var s string
	switch t.Kind {
	case TrimIQR:
		s = "iqr"
	case TrimCap:
		s = "cap:" + strconv.FormatFloat(t.Percentile, 'g', -1, 64)
	default:
		return "none"
	}
	if t.Pooled {
		s += ":pooled"
	}
	return s
}

// Apply returns each arm's values after the rule (new slices; arms is
// not changed) and how many units each arm lost (always 0 for capping).
func (t Trim) Apply(arms [][]float64) (out [][]float64, lost []int) {
	out = make([][]float64, len(arms))
	lost = make([]int, len(arms))
	if t.Kind == TrimNone {
		for i, a := range arms {
			out[i] = slices.Clone(a)
		}
		return out, lost
	}
	var pooledLo, pooledHi float64
	if t.Pooled {
		var all []float64
		for _, a := range arms {
			all = append(all, a...)
		}
		pooledLo, pooledHi = t.bounds(all)
	}
	for i, a := range arms {
		lo, hi := pooledLo, pooledHi
		if !t.Pooled {
			lo, hi = t.bounds(a)
		}
		kept := make([]float64, 0, len(a))
		for _, v := range a {
			switch {
			case t.Kind == TrimCap:
				kept = append(kept, math.Min(v, hi))
			case v >= lo && v <= hi:
				kept = append(kept, v)
			}
		}
		out[i], lost[i] = kept, len(a)-len(kept)
	}
	return out, lost
}

// bounds returns the [lo, hi] that values keep under the rule.
func (t Trim) bounds(values []float64) (lo, hi float64) {
	if len(values) == 0 {
		return math.Inf(-1), math.Inf(1)
	}
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	if t.Kind == TrimCap {
		return math.Inf(-1), Percentile(sorted, t.Percentile)
	}
	q1, q3 := Percentile(sorted, 0.25), Percentile(sorted, 0.75)
	iqr := q3 - q1
	return q1 - 1.5*iqr, q3 + 1.5*iqr
}
