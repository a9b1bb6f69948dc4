package rrd_test

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/wharfhq/wharf/monitoring/rrd"
)

// FuzzUpdateSequence feeds arbitrary update sequences (time moves, values,
// types, steps) and checks the invariants: no panic, LastUp is the newest
// accepted time, state in range, every fetch answer aligned and sized as
// planned, and known values inside what the inputs allow (GAUGE: between
// the smallest and largest accepted value; DERIVE: not negative).
func FuzzUpdateSequence(f *testing.F) {
	f.Add(uint8(0), uint8(60), []byte{60, 0, 0, 0, 0, 0, 0, 0, 0, 0x40})
	f.Add(uint8(1), uint8(30), []byte{30, 0, 1, 0, 0, 0, 0, 0, 0, 0x40, 200, 10, 0, 0, 0, 0, 0, 0, 0xf0, 0x7f})
	f.Add(uint8(2), uint8(1), []byte{1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, kind, stepByte uint8, data []byte) {
		step := int64(stepByte%120) + 1
		typ := []string{"GAUGE", "COUNTER", "DERIVE"}[kind%3]
		spec, err := rrd.FalconSpec(step, typ)
		if err != nil {
			t.Fatal(err)
		}
		if kind&4 != 0 { // small archives, so the fuzzer wraps them
			for i := range spec.Archives {
				spec.Archives[i].Rows = 1 + spec.Archives[i].Rows%7
				spec.Archives[i].PDPs = 1 + spec.Archives[i].PDPs%4
			}
		}
		start := int64(1_600_000_000)
		s, err := rrd.NewSeries(spec, start)
		if err != nil {
			t.Fatal(err)
		}
		clock := start
		lo, hi := math.Inf(1), math.Inf(-1)
		for len(data) >= 10 {
			dt := int64(int16(binary.LittleEndian.Uint16(data)))
			v := math.Float64frombits(binary.LittleEndian.Uint64(data[2:]))
			data = data[10:]
			if dt > 0 && kind&8 != 0 {
				dt *= step * 37 // long gaps
			}
			clock += dt
			if clock < 0 {
				clock = 0
			}
			before := s.State.LastUp
			err := s.Update(clock, v)
			switch {
			case err == nil:
				if clock <= before {
					t.Fatalf("accepted time %d not after %d", clock, before)
				}
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			case err == rrd.ErrStale:
				if clock > before {
					t.Fatalf("refused time %d after %d", clock, before)
				}
			case err == rrd.ErrSkipped:
			default:
				t.Fatalf("update: %v", err)
			}
			if s.State.LastUp < before || s.State.PDPUnknown < 0 {
				t.Fatalf("state out of range: %+v", s.State)
			}
			for i, c := range s.State.CDP {
				if c.CurRow < 0 || c.CurRow >= spec.Archives[i].Rows || c.Unknown < 0 {
					t.Fatalf("archive %d state out of range: %+v", i, c)
				}
			}
		}
		last := s.State.LastUp
		var vals []float64
		for _, cf := range []rrd.CF{rrd.Average, rrd.Max, rrd.Min} {
			for _, a := range spec.Archives {
				res := a.PDPs * step
				q := rrd.Query{CF: cf, Start: max(0, last-a.Rows*res), End: last, Step: res}
				plan, got, err := s.Fetch(q, vals[:0])
				vals = got
				if err != nil {
					t.Fatalf("fetch %+v: %v", q, err)
				}
				if len(got) != plan.Rows() || plan.Start%plan.Step != 0 || plan.End%plan.Step != 0 || plan.Start > q.Start || plan.End <= q.End {
					t.Fatalf("fetch %+v: plan %+v with %d values", q, plan, len(got))
				}
				for _, v := range got {
					if math.IsNaN(v) {
						continue
					}
					if math.IsInf(v, 0) {
						t.Fatalf("fetch %+v: infinite value", q)
					}
					switch spec.Type {
					case rrd.Gauge:
						tol := 1e-6 * math.Max(math.Abs(lo), math.Abs(hi))
						if v < lo-tol || v > hi+tol {
							t.Fatalf("fetch %+v: %v outside the accepted values [%v, %v]", q, v, lo, hi)
						}
					default:
						if v < 0 {
							t.Fatalf("fetch %+v: negative rate %v", q, v)
						}
					}
				}
			}
		}
	})
}
