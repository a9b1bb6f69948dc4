package stats

import "math"

// largeDF is the degrees of freedom from which Student's t tail is
// integrated numerically: the continued fraction of I_x(df/2, ½) with x
// close to 1 loses about df·1e-17 relative there (8e-10 at df = 1e8),
// where scipy (TOMS 708's bratio) keeps full precision.
const largeDF = 1e6

// tTailQuad is P(T > t) for t ≥ 0 with df degrees of freedom, by exp-sinh
// quadrature of the density over [t, ∞) (step halved until two estimates
// agree to 1e-15).
func tTailQuad(t, df float64) float64 {
	c := -0.5*math.Log(df) - lnBeta(df/2, 0.5)
	e := -(df + 1) / 2
	term := func(tau float64) float64 {
		// u = exp(π/2·sinh τ), du = u·π/2·cosh τ dτ.
		u := math.Exp(math.Pi / 2 * math.Sinh(tau))
		s := t + u
		f := math.Exp(c + e*math.Log1p(s*s/df))
		return f * u * math.Pi / 2 * math.Cosh(tau)
	}
	const lo, hi = -4.5, 4.0
	h := 0.5
	sum := 0.0
	for tau := lo; tau <= hi; tau += h {
		sum += term(tau)
	}
	est := h * sum
	for range 12 {
		h /= 2
		for tau := lo + h; tau <= hi; tau += 2 * h {
			sum += term(tau)
		}
		next := h * sum
		if math.Abs(next-est) <= 1e-15*math.Abs(next) {
			return next
		}
		est = next
	}
	return est
}
