package stats

import "math"

// NormalCDF is the standard normal distribution function Φ(x).
func NormalCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

// NormalSF is 1 − Φ(x), accurate in the upper tail.
func NormalSF(x float64) float64 { return 0.5 * math.Erfc(x/math.Sqrt2) }

// NormalPPF is the quantile function Φ⁻¹(p) of the standard normal.
func NormalPPF(p float64) float64 {
	switch {
	case p <= 0:
		return math.Inf(-1)
	case p >= 1:
		return math.Inf(1)
	}
	var x float64
	if p < 0.5 {
		x = -math.Sqrt2 * math.Erfcinv(2*p)
	} else {
		x = math.Sqrt2 * math.Erfcinv(2*(1-p))
	}
	// Newton steps on the tail that p is in restore full relative accuracy.
	for range 2 {
		pdf := math.Exp(-0.5*x*x) / math.Sqrt(2*math.Pi)
		if pdf == 0 {
			break
		}
		if p < 0.5 {
			x -= (NormalCDF(x) - p) / pdf
		} else {
			x += (NormalSF(x) - (1 - p)) / pdf
		}
	}
	return x
}

// TCDF is the distribution function of Student's t with df degrees of
// freedom (df > 0, not necessarily an integer).
func TCDF(t, df float64) float64 {
	lower, upper := tTails(t, df)
	if t > 0 {
		return upper
	}
	return lower
}

// TSF is 1 − TCDF(t, df), accurate in the upper tail.
func TSF(t, df float64) float64 { return TCDF(-t, df) }

// tTails returns P(T < −|t|) and P(T < |t|).
func tTails(t, df float64) (tail, body float64) {
	if math.IsNaN(t) || math.IsNaN(df) || df <= 0 {
		return math.NaN(), math.NaN()
	}
	if math.IsInf(t, 0) {
		return 0, 1
	}
	// x = df/(df+t²) and y = t²/(df+t²), each without overflow or 0/0.
	var x, y float64
	if t2 := t * t; t2 > df {
		r := df / t2
		x, y = r/(1+r), 1/(1+r)
	} else {
		r := t2 / df
		x, y = 1/(1+r), r/(1+r)
	}
	if df > largeDF && y < 0.5 {
		tail = tTailQuad(math.Abs(t), df)
		return tail, 1 - tail
	}
	// P(|T| > |t|) = I_x(df/2, 1/2).
	ix, _ := incBeta(df/2, 0.5, x, y)
	return ix / 2, 1 - ix/2
}

// TPPF is the quantile function of Student's t with df degrees of freedom.
func TPPF(p, df float64) float64 {
	switch {
	case math.IsNaN(p) || math.IsNaN(df) || df <= 0 || p < 0 || p > 1:
		return math.NaN()
	case p == 0:
		return math.Inf(-1)
	case p == 1:
		return math.Inf(1)
	case p == 0.5:
		return 0
	}
	if p > 0.5 {
		return -tLowerQuantile(1-p, df)
	}
	return tLowerQuantile(p, df)
}

// tLowerQuantile solves P(T < x) = q for q < ½ (x < 0).
func tLowerQuantile(q, df float64) float64 {
	cdf := func(x float64) float64 { lower, _ := tTails(x, df); return lower }
	lnB := lnBeta(df/2, 0.5)
	pdf := func(x float64) float64 {
		return math.Exp(-(df+1)/2*math.Log1p(x*x/df) - 0.5*math.Log(df) - lnB)
	}
	// Bracket: from the normal quantile outwards.
	hi := math.Min(NormalPPF(q), -1e-300)
	lo := hi
	for cdf(lo) > q {
		lo *= 2
		if math.IsInf(lo, -1) {
			return lo
		}
	}
	for cdf(hi) < q {
		hi /= 2
	}
	return solve(q, lo, hi, cdf, pdf)
}

// ChiSquareCDF is the distribution function of χ² with k degrees of freedom.
func ChiSquareCDF(x, k float64) float64 {
	lower, _ := incGamma(k/2, x/2)
	return lower
}

// ChiSquareSF is 1 − ChiSquareCDF(x, k), the p-value of a χ² statistic.
func ChiSquareSF(x, k float64) float64 {
	_, upper := incGamma(k/2, x/2)
	return upper
}

// ChiSquarePPF is the quantile function of χ² with k degrees of freedom.
func ChiSquarePPF(p, k float64) float64 {
	switch {
	case math.IsNaN(p) || math.IsNaN(k) || k <= 0 || p < 0 || p > 1:
		return math.NaN()
	case p == 0:
		return 0
	case p == 1:
		return math.Inf(1)
	}
	// The density (x/2)^(a−1)·e^(−x/2) / (2Γ(a)), a = k/2.
	pdf := func(x float64) float64 { return gammaPrefactor(k/2, x/2) / x }
	// Solve on the tail that is small, for relative accuracy.
	if p > 0.5 {
		q := 1 - p
		sf := func(x float64) float64 { return -ChiSquareSF(x, k) }
		lo, hi := 0.0, math.Max(k, 1)
		for ChiSquareSF(hi, k) > q {
			lo, hi = hi, hi*2
		}
		return solve(-q, lo, hi, sf, pdf)
	}
	cdf := func(x float64) float64 { return ChiSquareCDF(x, k) }
	lo, hi := 0.0, math.Max(k, 1)
	for cdf(hi) < p {
		lo, hi = hi, hi*2
	}
	return solve(p, lo, hi, cdf, pdf)
}

// solve finds x in [lo, hi] with f(x) = target for an increasing f with
// derivative df: Newton steps kept inside a shrinking bracket, bisection
// when a step would leave it.
func solve(target, lo, hi float64, f, df func(float64) float64) float64 {
	x := lo + (hi-lo)/2
	for range 400 {
		fx := f(x) - target
		if fx == 0 {
			return x
		}
		if fx < 0 {
			lo = x
		} else {
			hi = x
		}
		next := x - fx/df(x)
		if !(next > lo && next < hi) || math.IsNaN(next) {
			next = lo + (hi-lo)/2
		}
		if math.Abs(next-x) <= 1e-15*math.Abs(x) || next == x {
			return next
		}
		x = next
	}
	return x
}
