package rrd_test

import (
	"math"
	"math/rand/v2"
)

// generator makes a seeded schedule of (time, value) points. Each schedule
// draws its own mix of time moves (on the grid, jittered, several per
// step, duplicates, late points, gaps around the heartbeat, long and huge
// gaps) and value moves (walks, counter resets, sign changes, zeros, huge
// and tiny values, values Falcon skips), so schedules differ in kind.
type generator struct {
	r      *rand.Rand
	typ    string
	step   int64
	start  int64
	t      int64
	v      float64
	tw, vw []float64 // cumulative weights of the moves
}

func cumulative(r *rand.Rand, base []float64) []float64 {
	out := make([]float64, len(base))
	sum := 0.0
	for i, b := range base {
		// Each schedule scales each weight by 0..2, zeroing some.
		w := b * 2 * r.Float64()
		if r.IntN(6) == 0 {
			w = 0
		}
		sum += w
		out[i] = sum
	}
	if sum == 0 {
		out[0] = 1
		for i := 1; i < len(out); i++ {
			out[i] = 1
		}
	}
	return out
}

func pick(r *rand.Rand, cw []float64) int {
	x := r.Float64() * cw[len(cw)-1]
	for i, c := range cw {
		if x < c {
			return i
		}
	}
	return len(cw) - 1
}

func newGenerator(r *rand.Rand, typ string, step int64) *generator {
	start := int64(1_700_000_000) + r.Int64N(1_000_000)
	if r.IntN(3) == 0 {
		start -= start % step // created on the grid
	}
	g := &generator{r: r, typ: typ, step: step, start: start, t: start, v: float64(r.IntN(1000))}
	tw := []float64{30, 30, 10, 3, 3, 3, 2, 3, 0.4, 0.05, 5}
	if r.IntN(3) == 0 { // a steady schedule: no gaps beyond the heartbeat
		tw[6], tw[7], tw[8], tw[9] = 0, 0, 0, 0
	}
	g.tw = cumulative(r, tw)
	g.vw = cumulative(r, []float64{40, 5, 3, 2, 2, 1, 1, 1, 2})
	return g
}

func (g *generator) next() (int64, float64) {
	r, step := g.r, g.step
	switch pick(r, g.tw) {
	case 0: // one step
		g.t += step
	case 1: // one step, jittered
		g.t += step + r.Int64N(step) - step/2
	case 2: // several points per step
		g.t += 1 + r.Int64N(step/3)
	case 3: // duplicate time
	case 4: // late point
		g.t -= 1 + r.Int64N(2*step)
	case 5: // exactly the heartbeat
		g.t += 2 * step
	case 6: // just over the heartbeat
		g.t += 2*step + 1 + r.Int64N(step)
	case 7: // a few steps missing
		g.t += step * (3 + r.Int64N(50))
	case 8: // more than the one-step archive holds
		g.t += step * (700 + r.Int64N(3000))
	case 9: // months: wraps coarse archives
		g.t += step * 720 * (1 + r.Int64N(800))
	case 10: // a step's worth, off the grid
		g.t += step - 1 + r.Int64N(3)
	}
	counter := g.typ != "GAUGE"
	switch pick(r, g.vw) {
	case 0: // walk
		if counter {
			g.v += math.Floor(r.Float64() * 1000)
		} else {
			g.v += r.NormFloat64() * 10
		}
	case 1: // reset / drop
		g.v = math.Floor(r.Float64() * 10)
	case 2: // sign change
		g.v = -g.v - float64(r.IntN(5))
	case 3: // zero
		g.v = 0
	case 4: // huge, kept
		g.v = float64(1+r.IntN(9)) * math.Pow(10, float64(250+r.IntN(50)))
		if r.IntN(2) == 0 {
			g.v = -g.v
		}
	case 5: // tiny, kept (gauges) or truncated to 0 (counters)
		g.v = float64(1+r.IntN(9)) * math.Pow(10, -float64(250+r.IntN(50)))
	case 6: // skipped by Falcon: beyond ±1e300 or within ±1e-300
		vals := []float64{2e300, -5e300, 1e-301, -3e-305, math.Inf(1)}
		return g.t, vals[r.IntN(len(vals))]
	case 7: // big counters around 2^53..2^63
		g.v = float64(int64(1)<<(53+r.IntN(10))) + float64(r.IntN(1000))
	case 8: // fractional
		g.v += r.Float64()*100 - 20
	}
	return g.t, g.v
}

// parseLikeRRDTool is rrdtool 1.7's rrd_strtod, which `rrdtool update`
// uses on GAUGE values: not correctly rounded (digits accumulate in a
// double, then scale by repeated squaring), so the model must be fed the
// double rrdtool actually stores, or cancellations of huge values differ.
func parseLikeRRDTool(s string) float64 {
	i := 0
	neg := false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	number, exponent, decimals := 0.0, 0, 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		number = float64(number*10) + float64(s[i]-'0')
	}
	if i < len(s) && s[i] == '.' {
		for i++; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			number = float64(number*10) + float64(s[i]-'0')
			decimals++
		}
		exponent -= decimals
	}
	if neg {
		number = -number
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			eneg = s[i] == '-'
			i++
		}
		n := 0
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			n = n*10 + int(s[i]-'0')
		}
		if eneg {
			exponent -= n
		} else {
			exponent += n
		}
	}
	if exponent < -1021 || exponent > 1024 {
		return math.Inf(1)
	}
	p10 := 10.0
	n := exponent
	if n < 0 {
		n = -n
	}
	for ; n != 0; n >>= 1 {
		if n&1 != 0 {
			if exponent < 0 {
				number /= p10
			} else {
				number *= p10
			}
		}
		p10 *= p10
	}
	return number
}
