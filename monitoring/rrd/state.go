package rrd

import "math"

// State is everything about a series that changes on update except the
// archive rows themselves: rrdtool's live head, PDP prep and CDP prep areas
// plus each archive's current row. It is small and fixed-size for a spec.
type State struct {
	// LastUp is the time of the last accepted update (unix seconds).
	LastUp int64
	// LastKnown tells whether LastValue holds a value (rrdtool's last_ds
	// other than "U"); LastValue is the last integer of a DERIVE/COUNTER.
	LastKnown bool
	LastValue int64
	// PDPValue is rate×seconds collected in the open primary data point
	// (NaN: nothing known yet); PDPUnknown its unknown seconds.
	PDPValue   float64
	PDPUnknown int64
	// CDP holds one consolidation state per archive.
	CDP []CDP
}

// CDP is the consolidation state of one archive (rrdtool's cdp_prep) and
// the archive's current row (rra_ptr).
type CDP struct {
	Value     float64
	Primary   float64
	Secondary float64
	Unknown   int64
	CurRow    int64
}

// NewState is the state of a series created at start, as `rrdtool create
// --start start` leaves it: nothing known, every archive row unknown.
func NewState(spec *Spec, start int64) State {
	st := State{LastUp: start, PDPValue: math.NaN(), PDPUnknown: start % spec.Step}
	st.CDP = make([]CDP, len(spec.Archives))
	for i, a := range spec.Archives {
		st.CDP[i] = CDP{
			Value:   math.NaN(),
			Unknown: ((start - st.PDPUnknown) % (spec.Step * a.PDPs)) / spec.Step,
		}
	}
	return st
}

// Clone is a deep copy of the state.
func (s *State) Clone() State {
	c := *s
	c.CDP = append([]CDP(nil), s.CDP...)
	return c
}
