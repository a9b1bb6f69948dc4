package ab

import "math"

// chiSquareTest is Pearson's χ² of obs against exp with its p-value
// (stand-in until the statistics package lands).
func chiSquareTest(obs, exp []float64) (float64, float64) {
	x := 0.0
	for i := range obs {
		d := obs[i] - exp[i]
		x += d * d / exp[i]
	}
	df := float64(len(obs) - 1)
	if df < 1 {
		return x, 1
	}
	return x, gammaQ(df/2, x/2)
}

// gammaQ is the regularized upper incomplete gamma Q(a, x).
func gammaQ(a, x float64) float64 {
	if x <= 0 {
		return 1
	}
	lg, _ := math.Lgamma(a)
	if x < a+1 {
		sum, del, ap := 1/a, 1/a, a
		for range 1000 {
			ap++
			del *= x / ap
			sum += del
			if math.Abs(del) < math.Abs(sum)*1e-15 {
				break
			}
		}
		return 1 - sum*math.Exp(-x+a*math.Log(x)-lg)
	}
	b := x + 1 - a
	c := 1 / 1e-300
	d := 1 / b
	h := d
	for i := 1; i < 1000; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < 1e-300 {
			d = 1e-300
		}
		c = b + an/c
		if math.Abs(c) < 1e-300 {
			c = 1e-300
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < 1e-15 {
			break
		}
	}
	return math.Exp(-x+a*math.Log(x)-lg) * h
}
