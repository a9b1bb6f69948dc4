package rrd

import (
	"errors"
	"math"
)

// Errors of Update. Both leave the series untouched; callers count them.
var (
	// ErrStale: the point is not newer than the last update (rrdtool
	// refuses it; Falcon drops it).
	ErrStale = errors.New("cannot update: time is not after the last update")
	// ErrSkipped: the value is NaN, beyond ±1e300 or within ±1e-300 (not 0),
	// which Falcon's graph skips before rrdtool sees it, or negative for a
	// COUNTER, which rrdtool refuses.
	ErrSkipped = errors.New("cannot update: value out of range")
	// ErrTime: the time is beyond MaxTime.
	ErrTime = errors.New("cannot update: time out of range")
)

// MaxTime bounds times (unix seconds, year 2^43/31.6e6 ≈ 280,000), so no
// arithmetic on times and steps can overflow.
const MaxTime = 1 << 43

// RowWriter stores archive rows; row is 0..Rows-1 within archive.
type RowWriter interface {
	WriteRow(archive int, row int64, v float64) error
}

// Admit is Update's check of a point, without the update: ErrStale when t
// is not after lastUp, ErrTime beyond MaxTime, ErrSkipped for a value
// rrdtool skips (for a series of type typ). Update refuses exactly the
// points Admit refuses, so a caller that queues points for a later Update
// can count them now.
func Admit(typ DSType, lastUp, t int64, v float64) error {
	if t <= lastUp {
		return ErrStale
	}
	if t > MaxTime {
		return ErrTime
	}
	if a := math.Abs(v); math.IsNaN(v) || a > 1e300 || (a < 1e-300 && a > 0) {
		return ErrSkipped
	}
	if typ == Counter && FalconInt(v) < 0 {
		return ErrSkipped // rrdtool: "not a simple unsigned integer"
	}
	return nil
}

// Update feeds one point into the series the way Open-Falcon's graph feeds
// rrdtool 1.7: the value is checked (ErrSkipped) and, for DERIVE/COUNTER,
// truncated to an integer first; the time must be after st.LastUp
// (ErrStale). The rows that close are written through rows. A refused or
// skipped point leaves st untouched; if rows fails to write, st is partly
// updated and the caller must discard it (the store reloads from its log).
func Update(spec *Spec, st *State, rows RowWriter, t int64, v float64) error {
	if err := Admit(spec.Type, st.LastUp, t, v); err != nil {
		return err
	}
	interval := float64(t - st.LastUp)
	pdpNew := prepare(spec, st, interval, v)
	step := spec.Step
	procSt := st.LastUp - st.LastUp%step
	occuAge := t % step
	occuSt := t - occuAge
	pre, post := interval, 0.0
	if occuSt > procSt {
		pre = float64(occuSt - st.LastUp)
		post = float64(occuAge)
	}
	procCnt := procSt / step
	elapsed := (occuSt - procSt) / step
	if elapsed == 0 {
		addToOpenPDP(st, interval, pdpNew)
		st.LastUp = t
		return nil
	}
	if elapsed > 1 {
		// rrdtool 1.7 closes the partly filled first PDP on its own, with
		// the share of the new value that falls into it.
		if open := int64(pre) % step; open > 0 {
			openNew := math.NaN()
			if !math.IsNaN(pdpNew) {
				openNew = float64(pdpNew*float64(open)) / interval
				pdpNew -= openNew
			}
			temp := closePDP(spec, st, float64(open), float64(open), 0, 1, openNew)
			if err := consolidate(spec, st, rows, 1, procCnt, temp); err != nil {
				return err
			}
			interval -= float64(open)
			pre -= float64(open)
			elapsed--
			procCnt++
		}
	}
	temp := closePDP(spec, st, interval, pre, post, elapsed, pdpNew)
	if err := consolidate(spec, st, rows, elapsed, procCnt, temp); err != nil {
		return err
	}
	st.LastUp = t
	return nil
}

// FalconInt is Go's int(v) on amd64, which Falcon's graph applies to
// COUNTER/DERIVE values: truncation toward zero, and the minimum int64 for
// values outside the int64 range.
func FalconInt(v float64) int64 {
	if v >= 9223372036854775808.0 || v < -9223372036854775808.0 || math.IsNaN(v) {
		return math.MinInt64
	}
	return int64(v)
}

// prepare is rrdtool's update_pdp_prep: the new value as rate×seconds
// (NaN: unknown), after the heartbeat and the min/max bounds.
func prepare(spec *Spec, st *State, interval, v float64) float64 {
	if float64(spec.Heartbeat) < interval {
		st.LastKnown = false
	}
	pdpNew, rate := math.NaN(), math.NaN()
	var iv int64
	if spec.Type != Gauge {
		iv = FalconInt(v)
	}
	if float64(spec.Heartbeat) >= interval {
		switch spec.Type {
		case Gauge:
			pdpNew = float64(v * interval)
			rate = v
		case Derive, Counter:
			if st.LastKnown {
				pdpNew = diff(iv, st.LastValue)
				if spec.Type == Counter {
					if pdpNew < 0 {
						pdpNew += 4294967295.0
					}
					if pdpNew < 0 {
						pdpNew += 18446744069414584320.0
					}
				}
				rate = pdpNew / interval
			}
		}
		if !math.IsNaN(rate) && ((!math.IsNaN(spec.Max) && rate > spec.Max) || (!math.IsNaN(spec.Min) && rate < spec.Min)) {
			pdpNew = math.NaN()
		}
	}
	if spec.Type != Gauge {
		st.LastKnown, st.LastValue = true, iv
	}
	return pdpNew
}

// diff is rrdtool's rrd_diff on two decimal integers: exact, but unknown
// when the signs differ.
func diff(a, b int64) float64 {
	if (a < 0) != (b < 0) {
		return math.NaN()
	}
	return float64(a - b)
}

// addToOpenPDP is rrdtool's simple_update: no PDP boundary was crossed.
func addToOpenPDP(st *State, interval, pdpNew float64) {
	switch {
	case math.IsNaN(pdpNew):
		st.PDPUnknown += int64(math.Floor(interval))
	case math.IsNaN(st.PDPValue):
		st.PDPValue = pdpNew
	default:
		st.PDPValue += pdpNew
	}
}

// closePDP is rrdtool's process_pdp_st: it closes the open PDP (and the
// elapsed-1 full ones after it), returns their rate (NaN: unknown) and opens
// the next one with the part of the update after the last boundary.
func closePDP(spec *Spec, st *State, interval, pre, post float64, elapsed int64, pdpNew float64) float64 {
	preUnknown := 0.0
	if math.IsNaN(pdpNew) {
		preUnknown = pre
	} else {
		if math.IsNaN(st.PDPValue) {
			st.PDPValue = 0
		}
		st.PDPValue += float64(pdpNew/interval) * pre
	}
	temp := math.NaN()
	if !(interval > float64(spec.Heartbeat) || float64(spec.Step)/2.0 < float64(st.PDPUnknown)) {
		temp = st.PDPValue / (float64(elapsed*spec.Step-st.PDPUnknown) - preUnknown)
	}
	if math.IsNaN(pdpNew) {
		st.PDPUnknown = int64(math.Floor(post))
		st.PDPValue = math.NaN()
	} else {
		st.PDPUnknown = 0
		st.PDPValue = float64(pdpNew/interval) * post
	}
	return temp
}
