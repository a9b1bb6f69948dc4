package seriesstore

import (
	"encoding/binary"
	"math"

	"github.com/wharfhq/wharf/monitoring/rrd"
)

// slotIO reads and writes the rows of one slot for package rrd; the store
// keeps one and points it at the slot of each point in turn.
type slotIO struct {
	rows    []byte
	offsets []int64
}

// set points r at the rows of slot for a series of spec.
func (r *slotIO) set(slot []byte, spec *rrd.Spec) {
	r.rows = slot[headerSize:]
	r.offsets = r.offsets[:0]
	var n int64
	for _, a := range spec.Archives {
		r.offsets = append(r.offsets, n)
		n += a.Rows
	}
}

// WriteRow implements rrd.RowWriter.
func (r *slotIO) WriteRow(archive int, row int64, v float64) error {
	binary.LittleEndian.PutUint64(r.rows[8*(r.offsets[archive]+row):], math.Float64bits(v))
	return nil
}

// ReadRow implements rrd.RowReader.
func (r *slotIO) ReadRow(archive int, row int64) (float64, error) {
	return math.Float64frombits(binary.LittleEndian.Uint64(r.rows[8*(r.offsets[archive]+row):])), nil
}

// initSlot writes a new series into slot: its header, then unknown rows.
func initSlot(slot []byte, h *header) error {
	if err := encodeHeader(slot[:headerSize], h); err != nil {
		return err
	}
	rows := slot[headerSize : headerSize+8*h.Spec.TotalRows()]
	if len(rows) == 0 {
		return nil
	}
	binary.LittleEndian.PutUint64(rows, math.Float64bits(math.NaN()))
	for n := 8; n < len(rows); n *= 2 {
		copy(rows[n:], rows[:n])
	}
	return nil
}
