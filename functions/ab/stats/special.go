package stats

import "math"

const (
	// epsilon stops the series and continued fractions.
	epsilon = 1e-16
	// tiny keeps Lentz's method away from division by zero.
	tiny = 1e-300
	// maxIter bounds every series and continued fraction; convergence
	// takes about sqrt(max(a, b)) steps.
	maxIter = 100000
)

var lnSqrt2Pi = 0.5 * math.Log(2*math.Pi)

// stirlingErr is δ(z) = lnΓ(z) − ((z − ½)·ln z − z + ½·ln 2π), the error of
// Stirling's formula, small for large z; computing with it keeps the
// prefactors of the incomplete functions accurate when a and b are large
// (lnΓ would lose digits to cancellation).
func stirlingErr(z float64) float64 {
	if z >= 10 {
		z2 := z * z
		return (1.0/12 - (1.0/360-(1.0/1260-(1.0/1680-1.0/(1188*z2))/z2)/z2)/z2) / z
	}
	lg, _ := math.Lgamma(z)
	return lg - (z-0.5)*math.Log(z) + z - lnSqrt2Pi
}

// betaPrefactor is x^a·y^b / B(a, b) with y = 1 − x given by the caller
// (so that it keeps its digits when x is close to 1).
func betaPrefactor(a, b, x, y float64) float64 {
	if x == 0 || y == 0 {
		return 0
	}
	// ln x^a y^b / B(a,b) = a·ln(x(a+b)/a) + b·ln(y(a+b)/b)
	//                       + ½·ln(ab/(a+b)) − ½·ln 2π − δ(a) − δ(b) + δ(a+b)
	// with x(a+b)/a − 1 = (x·b − y·a)/a and y(a+b)/b − 1 = (y·a − x·b)/b.
	u := x*b - y*a
	l := a*logRatio(x*(a+b)/a, u/a) + b*logRatio(y*(a+b)/b, -u/b) +
		0.5*(math.Log(a)+math.Log(b)-math.Log(a+b)) - lnSqrt2Pi -
		stirlingErr(a) - stirlingErr(b) + stirlingErr(a+b)
	return math.Exp(l)
}

// lnBeta is ln B(a, b) by Stirling's formula and its errors, accurate
// also when a or b is large (ln Γ would cancel):
// a·ln(a/(a+b)) + b·ln(b/(a+b)) + ½·ln((a+b)/(ab)) + ½·ln 2π + δ(a) + δ(b) − δ(a+b).
func lnBeta(a, b float64) float64 {
	return -a*math.Log1p(b/a) - b*math.Log1p(a/b) +
		0.5*(math.Log(a+b)-math.Log(a)-math.Log(b)) + lnSqrt2Pi +
		stirlingErr(a) + stirlingErr(b) - stirlingErr(a+b)
}

// logRatio is ln r given r and r − 1 computed apart: log1p of r − 1 near
// r = 1, where ln r would lose digits, ln r elsewhere, where r − 1 has
// lost them.
func logRatio(r, rMinus1 float64) float64 {
	if math.Abs(rMinus1) < 0.5 {
		return math.Log1p(rMinus1)
	}
	return math.Log(r)
}

// betaCF is the continued fraction of the incomplete beta function
// (modified Lentz), converging fast for x < (a+1)/(a+b+2); y = 1 − x.
func betaCF(a, b, x, y float64) float64 {
	qab, qap, qam := a+b, a+1, a-1
	// 1 − (a+b)·x/(a+1) written as (a·y + (1 − b·x))/(a+1): the plain form
	// cancels when x is close to 1 and a is large (Student's t with many
	// degrees of freedom lost 4e-10 relative to it).
	c, d := 1.0, (a*y+(1-b*x))/qap
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= maxIter; m++ {
		fm := float64(m)
		m2 := 2 * fm
		aa := fm * (b - fm) * x / ((qam + m2) * (a + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		h *= d * c
		aa = -(a + fm) * (qab + fm) * x / ((a + m2) * (qap + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < epsilon {
			break
		}
	}
	return h
}

// incBeta is the regularized incomplete beta function I_x(a, b) and its
// complement 1 − I_x(a, b) = I_y(b, a), y = 1 − x, each computed directly
// where it is the small one, so that both keep their relative accuracy.
func incBeta(a, b, x, y float64) (lower, upper float64) {
	switch {
	case x <= 0:
		return 0, 1
	case y <= 0:
		return 1, 0
	}
	pre := betaPrefactor(a, b, x, y)
	if x < (a+1)/(a+b+2) {
		lower = pre * betaCF(a, b, x, y) / a
		return lower, 1 - lower
	}
	upper = pre * betaCF(b, a, y, x) / b
	return 1 - upper, upper
}

// gammaPrefactor is x^a·e^(−x) / Γ(a).
func gammaPrefactor(a, x float64) float64 {
	if x == 0 {
		return 0
	}
	// ln = a·(ln(1+d) − d) + ½·ln a − ½·ln 2π − δ(a), d = (x − a)/a.
	d := (x - a) / a
	return math.Exp(a*(logRatio(x/a, d)-d) + 0.5*math.Log(a) - lnSqrt2Pi - stirlingErr(a))
}

// incGamma is the regularized incomplete gamma function P(a, x) and its
// complement Q(a, x) = 1 − P(a, x): the series for P when x < a + 1, the
// continued fraction for Q otherwise, the other by subtraction.
func incGamma(a, x float64) (lower, upper float64) {
	if x <= 0 {
		return 0, 1
	}
	if math.IsInf(x, 1) {
		return 1, 0
	}
	pre := gammaPrefactor(a, x)
	if x < a+1 {
		ap, del := a, 1/a
		sum := del
		for range maxIter {
			ap++
			del *= x / ap
			sum += del
			if math.Abs(del) < math.Abs(sum)*epsilon {
				break
			}
		}
		lower = sum * pre
		return lower, 1 - lower
	}
	b := x + 1 - a
	c, d := 1/tiny, 1/b
	h := d
	for i := 1; i <= maxIter; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < epsilon {
			break
		}
	}
	upper = pre * h
	return 1 - upper, upper
}
