package rrd

import (
	"fmt"
	"math"
)

// Series is a whole round-robin series in memory: spec, state and rows.
// The durable store keeps the same parts on disk; Series is the reference
// model for tests, fuzzing and tools.
type Series struct {
	Spec  Spec
	State State
	// Values holds the rows of every archive, archive after archive.
	Values []float64
	offset []int64
}

// NewSeries creates an empty series as `rrdtool create --start start`.
func NewSeries(spec Spec, start int64) (*Series, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("cannot create series: %w", err)
	}
	if start < 0 || start > MaxTime {
		return nil, fmt.Errorf("cannot create series: start %d outside 0..%d", start, MaxTime)
	}
	s := &Series{Spec: spec, State: NewState(&spec, start)}
	s.Values = make([]float64, spec.TotalRows())
	for i := range s.Values {
		s.Values[i] = math.NaN()
	}
	s.offset = Offsets(&spec)
	return s, nil
}

// Offsets is where each archive's rows start among all rows of a spec.
func Offsets(spec *Spec) []int64 {
	off := make([]int64, len(spec.Archives))
	var n int64
	for i, a := range spec.Archives {
		off[i] = n
		n += a.Rows
	}
	return off
}

// Update feeds one point (see the package function Update).
func (s *Series) Update(t int64, v float64) error {
	return Update(&s.Spec, &s.State, s, t, v)
}

// Fetch answers a query into dst (see PlanFetch).
func (s *Series) Fetch(q Query, dst []float64) (Plan, []float64, error) {
	p, err := PlanFetch(&s.Spec, &s.State, q)
	if err != nil {
		return p, dst, err
	}
	dst, err = p.Read(s, dst)
	return p, dst, err
}

// WriteRow implements RowWriter.
func (s *Series) WriteRow(archive int, row int64, v float64) error {
	s.Values[s.offset[archive]+row] = v
	return nil
}

// ReadRow implements RowReader.
func (s *Series) ReadRow(archive int, row int64) (float64, error) {
	return s.Values[s.offset[archive]+row], nil
}
