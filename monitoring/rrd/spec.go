package rrd

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// DSType is how a data source turns pushed values into rates (rrdtool's DST).
type DSType uint8

// Data source types. Falcon stores COUNTER as DERIVE with minimum 0 (see
// FalconSpec); Counter is rrdtool's own COUNTER with its 32/64-bit wrap.
const (
	Gauge DSType = iota + 1
	Derive
	Counter
)

// String is the rrdtool name of the type.
func (t DSType) String() string {
	switch t {
	case Gauge:
		return "GAUGE"
	case Derive:
		return "DERIVE"
	case Counter:
		return "COUNTER"
	}
	return fmt.Sprintf("DSType(%d)", uint8(t))
}

// ParseDSType reads "GAUGE", "DERIVE" or "COUNTER" (any case).
func ParseDSType(s string) (DSType, error) {
	switch strings.ToUpper(s) {
	case "GAUGE":
		return Gauge, nil
	case "DERIVE":
		return Derive, nil
	case "COUNTER":
		return Counter, nil
	}
	return 0, fmt.Errorf("cannot parse data source type %q: want GAUGE, COUNTER or DERIVE", s)
}

// CF is a consolidation function of an archive.
type CF uint8

// Consolidation functions (rrdtool's AVERAGE, MAX, MIN, LAST).
const (
	Average CF = iota + 1
	Max
	Min
	Last
)

// String is the rrdtool name of the function.
func (c CF) String() string {
	switch c {
	case Average:
		return "AVERAGE"
	case Max:
		return "MAX"
	case Min:
		return "MIN"
	case Last:
		return "LAST"
	}
	return fmt.Sprintf("CF(%d)", uint8(c))
}

// ParseCF reads "AVERAGE", "MAX", "MIN" or "LAST" (any case).
func ParseCF(s string) (CF, error) {
	switch strings.ToUpper(s) {
	case "AVERAGE":
		return Average, nil
	case "MAX":
		return Max, nil
	case "MIN":
		return Min, nil
	case "LAST":
		return Last, nil
	}
	return 0, fmt.Errorf("cannot parse consolidation function %q: want AVERAGE, MAX, MIN or LAST", s)
}

// Archive is one round-robin archive (rrdtool's RRA): Rows consolidated
// values, each of PDPs primary data points, with the xfiles factor XFF
// (the fraction of unknown PDPs a consolidated value may have).
type Archive struct {
	CF   CF
	PDPs int64
	Rows int64
	XFF  float64
}

// Spec is the fixed shape of a series: one data source and its archives.
// Min and Max bound the rate; NaN means unbounded (rrdtool's "U").
type Spec struct {
	Step      int64
	Heartbeat int64
	Type      DSType
	Min, Max  float64
	Archives  []Archive
}

// Limits that keep a series' size and arithmetic sane.
const (
	MaxArchives = 32
	MaxRows     = 1 << 20
	MaxPDPs     = 1 << 20
	MaxStep     = 1 << 24
)

// FalconSpec is the spec Open-Falcon's graph creates for a metric of the
// given step and counter type: heartbeat 2×step, GAUGE unbounded, COUNTER
// and DERIVE both as DERIVE with minimum 0 (a negative rate is unknown).
func FalconSpec(step int64, counterType string) (Spec, error) {
	t, err := ParseDSType(counterType)
	if err != nil {
		return Spec{}, err
	}
	// Falcon's archive layout: 1 step × 720 AVERAGE, then AVERAGE/MAX/MIN at
	// 5 × 576, 20 × 504, 180 × 766 and 720 × 730, all with xff 0.
	falconLayout := [...]struct{ pdps, rows int64 }{{5, 576}, {20, 504}, {180, 766}, {720, 730}}
	s := Spec{Step: step, Heartbeat: 2 * step, Type: Gauge, Min: math.NaN(), Max: math.NaN()}
	if t != Gauge {
		s.Type, s.Min = Derive, 0
	}
	s.Archives = append(make([]Archive, 0, 1+3*len(falconLayout)), Archive{CF: Average, PDPs: 1, Rows: 720})
	for _, l := range falconLayout {
		for _, cf := range [...]CF{Average, Max, Min} {
			s.Archives = append(s.Archives, Archive{CF: cf, PDPs: l.pdps, Rows: l.rows})
		}
	}
	return s, s.Validate()
}

// Validate reports the first field that makes the spec unusable.
func (s *Spec) Validate() error {
	switch {
	case s.Step < 1 || s.Step > MaxStep:
		return fmt.Errorf("invalid step %d: want 1..%d", s.Step, MaxStep)
	case s.Heartbeat < 1:
		return fmt.Errorf("invalid heartbeat %d: want at least 1", s.Heartbeat)
	case s.Type < Gauge || s.Type > Counter:
		return fmt.Errorf("invalid data source type %d", s.Type)
	case len(s.Archives) == 0 || len(s.Archives) > MaxArchives:
		return fmt.Errorf("invalid archive count %d: want 1..%d", len(s.Archives), MaxArchives)
	case !math.IsNaN(s.Min) && !math.IsNaN(s.Max) && s.Min >= s.Max:
		return errors.New("invalid bounds: min must be below max")
	}
	for i, a := range s.Archives {
		switch {
		case a.CF < Average || a.CF > Last:
			return fmt.Errorf("invalid archive %d: consolidation function %d", i, a.CF)
		case a.PDPs < 1 || a.PDPs > MaxPDPs:
			return fmt.Errorf("invalid archive %d: pdps %d, want 1..%d", i, a.PDPs, MaxPDPs)
		case a.Rows < 1 || a.Rows > MaxRows:
			return fmt.Errorf("invalid archive %d: rows %d, want 1..%d", i, a.Rows, MaxRows)
		case !(a.XFF >= 0 && a.XFF < 1):
			return fmt.Errorf("invalid archive %d: xff %v, want 0 <= xff < 1", i, a.XFF)
		case s.Step*a.PDPs > MaxTime/a.Rows:
			return fmt.Errorf("invalid archive %d: spans more than %d seconds", i, int64(MaxTime))
		}
	}
	return nil
}

// TotalRows is the number of values all archives hold together.
func (s *Spec) TotalRows() int64 {
	var n int64
	for _, a := range s.Archives {
		n += a.Rows
	}
	return n
}
