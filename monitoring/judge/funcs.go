package judge

import (
	"math"

	"github.com/wharfhq/wharf/monitoring/strategy"
)

// Sample is one stored point of a series: its time and raw value.
type Sample struct {
	T int64
	V float64
}

// window is the values a function reads, newest first: the raw values of
// a GAUGE series, or for COUNTER/DERIVE the per-second rate between each
// point and the one before it (Falcon's HistoryData). pts is oldest first.
type window struct {
	pts  []Sample
	rate bool
}

// enough reports whether n values are there (COUNTER/DERIVE: n+1 points).
func (w window) enough(n int) bool {
	if n < 1 {
		return false
	}
	if w.rate {
		return len(w.pts) >= n+1
	}
	return len(w.pts) >= n
}

// v is the i-th newest value.
func (w window) v(i int) float64 {
	j := len(w.pts) - 1 - i
	if !w.rate {
		return w.pts[j].V
	}
	cur, prev := w.pts[j], w.pts[j-1]
	return (cur.V - prev.V) / float64(cur.T-prev.T)
}

// t is the time of the i-th newest value (COUNTER/DERIVE: of the newer
// point of the pair, as Falcon's HistoryData).
func (w window) t(i int) int64 { return w.pts[len(w.pts)-1-i].T }

// result is one evaluation: the left value, whether the condition held,
// and the time of the oldest value read (Falcon's re-send rule looks at
// it). enough is false when there were not enough values: no decision.
type result struct {
	left      float64
	triggered bool
	enough    bool
	oldest    int64
}

// evaluate computes ch over w exactly as Open-Falcon's judge functions
// (modules/judge/store/func.go), in the same order of operations.
func evaluate(ch *strategy.Check, w window) result {
	n := ch.Func.Values()
	if !w.enough(n) {
		return result{}
	}
	r := result{enough: true, oldest: w.t(n - 1)}
	op, right := ch.Op, ch.Right
	switch ch.Func.Kind {
	case strategy.Max:
		m := w.v(0)
		for i := 1; i < n; i++ {
			if v := w.v(i); m < v {
				m = v
			}
		}
		r.left, r.triggered = m, op.Holds(m, right)
	case strategy.Min:
		m := w.v(0)
		for i := 1; i < n; i++ {
			if v := w.v(i); m > v {
				m = v
			}
		}
		r.left, r.triggered = m, op.Holds(m, right)
	case strategy.All:
		r.triggered = true
		for i := 0; i < n; i++ {
			if r.triggered = op.Holds(w.v(i), right); !r.triggered {
				break
			}
		}
		r.left = w.v(0)
	case strategy.Lookup:
		r.left = w.v(0)
		for i, k := 0, 0; i < n; i++ {
			if op.Holds(w.v(i), right) {
				if k++; k == ch.Func.A {
					r.triggered = true
					break
				}
			}
		}
	case strategy.Sum:
		s := 0.0
		for i := 0; i < n; i++ {
			s += w.v(i)
		}
		r.left, r.triggered = s, op.Holds(s, right)
	case strategy.Avg:
		s := 0.0
		for i := 0; i < n; i++ {
			s += w.v(i)
		}
		r.left = s / float64(n)
		r.triggered = op.Holds(r.left, right)
	case strategy.Diff:
		first := w.v(0)
		for i := 1; i < n; i++ {
			r.left = first - w.v(i)
			if r.triggered = op.Holds(r.left, right); r.triggered {
				break
			}
		}
	case strategy.PDiff:
		first := w.v(0)
		for i := 1; i < n; i++ {
			old := w.v(i)
			if old == 0 {
				continue
			}
			r.left = float64((first-old)/old) * 100.0
			if r.triggered = op.Holds(r.left, right); r.triggered {
				break
			}
		}
	case strategy.StdDev:
		r.left = w.v(0)
		mean := 0.0
		for i := 0; i < n; i++ {
			mean += w.v(i)
		}
		mean /= float64(n)
		sq := 0.0
		for i := 0; i < n; i++ {
			d := w.v(i) - mean
			sq += float64(d * d)
		}
		std := math.Sqrt(sq / float64(n))
		k := float64(right * std)
		r.triggered = r.left < mean-k || r.left > mean+k
	case strategy.KDiff, strategy.KPDiff:
		r.left, r.triggered = kdiff(ch, w, ch.Func.Kind == strategy.KPDiff)
	}
	return r
}

// kdiff is Falcon's kdiff/kpdiff: Num = A (the oldest, stable values),
// Limit = B (the newest values); every newest value minus every stable one
// (kpdiff: as a percentage of the newest value) must hold. As in Falcon, a
// zero among the first A newest values ends the check untriggered.
func kdiff(ch *strategy.Check, w window, percent bool) (left float64, triggered bool) {
	num, limit := ch.Func.A, ch.Func.B
	for i := 0; i < num; i++ {
		triggered = false
		if w.v(i) == 0 {
			break
		}
		old := w.v(limit + num - 1 - i)
		for j := 0; j < limit; j++ {
			cur := w.v(j)
			if percent {
				left = float64((cur-old)/cur) * 100.0
			} else {
				left = cur - old
			}
			if triggered = ch.Op.Holds(left, ch.Right); !triggered {
				break
			}
		}
		if !triggered {
			return left, false
		}
	}
	return left, triggered
}
