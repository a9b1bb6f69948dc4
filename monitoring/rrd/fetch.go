package rrd

import (
	"errors"
	"fmt"
	"math"
)

// RowReader reads archive rows; row is 0..Rows-1 within archive.
type RowReader interface {
	ReadRow(archive int, row int64) (float64, error)
}

// Query asks for the values of one consolidation function over [Start, End]
// at a wished resolution Step (seconds; 0 or 1 = the finest archive that
// covers Start), as `rrdtool fetch file CF -s Start -e End -r Step`.
type Query struct {
	CF         CF
	Start, End int64
	Step       int64
}

// Plan is how a query is answered: the archive rrdtool picks and the
// aligned window. The answer has Rows() values, the i-th for the interval
// ending at Start+(i+1)*Step.
type Plan struct {
	Archive    int
	Start, End int64
	Step       int64
	// first is the archive row index (0 = oldest row kept) of value 0.
	first int64
	// rows and curRow of the chosen archive.
	archiveRows, curRow int64
}

// ErrNoArchive: the spec has no archive for the consolidation function.
var ErrNoArchive = errors.New("cannot fetch: no archive matches the consolidation function")

// MaxFetchRows bounds one answer, so a wide window at a fine step cannot
// exhaust memory.
const MaxFetchRows = 1 << 20

// PlanFetch picks the archive and aligns the window exactly like rrdtool
// 1.7's rrd_fetch_fn: among the archives of the function (any function for
// one-PDP archives), the one that covers Start with the step closest to the
// wish, else the one covering most of the window; Start is aligned down and
// End up (always past End) to the archive's step.
func PlanFetch(spec *Spec, st *State, q Query) (Plan, error) {
	if q.Start < 0 || q.End < q.Start || q.End > MaxTime {
		return Plan{}, fmt.Errorf("cannot fetch: want 0 <= start (%d) <= end (%d) <= %d", q.Start, q.End, MaxTime)
	}
	if q.Step < 0 || q.Step > MaxTime {
		return Plan{}, fmt.Errorf("cannot fetch: step %d outside 0..%d", q.Step, MaxTime)
	}
	wish := q.Step
	if wish == 0 {
		wish = 1
	}
	bestFull, bestPart := -1, -1
	var fullDiff, partDiff, partMatch int64
	for i, a := range spec.Archives {
		if a.CF != q.CF && a.PDPs != 1 {
			continue
		}
		rraStep := spec.Step * a.PDPs
		calEnd := st.LastUp - st.LastUp%rraStep
		calStart := calEnd - rraStep*a.Rows
		d := wish - rraStep
		if d < 0 {
			d = -d
		}
		if calStart <= q.Start {
			if bestFull < 0 || d < fullDiff {
				bestFull, fullDiff = i, d
			}
			continue
		}
		match := (q.End - q.Start) - (calStart - q.Start)
		if bestPart < 0 || partMatch < match || (partMatch == match && d < partDiff) {
			bestPart, partMatch, partDiff = i, match, d
		}
	}
	chosen := bestFull
	if chosen < 0 {
		chosen = bestPart
	}
	if chosen < 0 {
		return Plan{}, ErrNoArchive
	}
	a := spec.Archives[chosen]
	step := spec.Step * a.PDPs
	p := Plan{Archive: chosen, Step: step, archiveRows: a.Rows, curRow: st.CDP[chosen].CurRow}
	p.Start = q.Start - q.Start%step
	p.End = q.End + (step - q.End%step)
	if (p.End-p.Start)/step > MaxFetchRows {
		return Plan{}, fmt.Errorf("cannot fetch: %d rows asked, at most %d", (p.End-p.Start)/step, MaxFetchRows)
	}
	rraEnd := st.LastUp - st.LastUp%step
	rraStart := rraEnd - step*(a.Rows-1)
	p.first = (p.Start + step - rraStart) / step
	return p, nil
}

// Rows is the number of values the plan answers with.
func (p *Plan) Rows() int {
	return int((p.End - p.Start) / p.Step)
}

// Read fills dst (grown to Rows()) with the planned values, NaN where the
// archive holds nothing, reading rows through r.
func (p *Plan) Read(r RowReader, dst []float64) ([]float64, error) {
	n := p.Rows()
	dst = dst[:0]
	for k := 0; k < n; k++ {
		i := p.first + int64(k)
		v := math.NaN()
		if i >= 0 && i < p.archiveRows {
			var err error
			if v, err = r.ReadRow(p.Archive, (p.curRow+1+i)%p.archiveRows); err != nil {
				return dst, err
			}
		}
		dst = append(dst, v)
	}
	return dst, nil
}
