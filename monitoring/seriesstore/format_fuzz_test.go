package seriesstore

import (
	"bytes"
	"math"
	"testing"

	"github.com/wharfhq/wharf/monitoring/rrd"
)

// FuzzDecode feeds arbitrary bytes to the decoders of what the store reads
// back from disk (series headers, log records): they must never panic, and
// whatever they accept must encode back to the same bytes.
func FuzzDecode(f *testing.F) {
	spec, _ := rrd.FalconSpec(60, "DERIVE")
	h := header{Key: "host/cpu.idle/core=1", CounterType: rrd.Counter, Spec: spec, State: rrd.NewState(&spec, 1_700_000_000)}
	f.Add(appendBody(nil, &h))
	buf := make([]byte, headerSize)
	_ = encodeHeader(buf, &h)
	f.Add(buf)
	w := &wal{}
	w.addKeyPoint("k", 1_700_000_000, math.Pi)
	f.Add(w.buf[recordPrefix:])
	w = &wal{}
	w.addPoint(0, 1_700_000_000, math.Pi)
	w.addPoint(300, 1_700_000_060, math.Inf(-1))
	w.endPoints()
	f.Add(w.pbuf[recordPrefix:])
	f.Fuzz(func(t *testing.T, b []byte) {
		if h, err := decodeBody(b); err == nil {
			if again := appendBody(nil, &h); !bytes.Equal(again, b) {
				t.Fatalf("header body does not round-trip")
			}
			// A decoded header is safe to update and fetch from (checked on
			// specs small enough to hold in memory here).
			if h.Spec.TotalRows() > 1<<16 {
				return
			}
			s, err := rrd.NewSeries(h.Spec, 0)
			if err != nil {
				t.Fatalf("decoded spec refused: %v", err)
			}
			s.State = h.State
			for i := int64(1); i <= 3; i++ {
				_ = s.Update(h.State.LastUp+i*h.Spec.Step, float64(i))
			}
			for _, cf := range []rrd.CF{rrd.Average, rrd.Max, rrd.Min, rrd.Last} {
				_, _, _ = s.Fetch(rrd.Query{CF: cf, Start: max(0, s.State.LastUp-3600), End: s.State.LastUp}, nil)
			}
		}
		if len(b) >= headerPrefix {
			_, _ = decodeHeader(b)
		}
		if rec, err := decodeRecord(b); err == nil && rec.kind == kindPoint {
			w := &wal{}
			w.addKeyPoint(rec.key, rec.t, rec.v)
			if !bytes.Equal(w.buf[recordPrefix:], b) {
				t.Fatalf("point record does not round-trip")
			}
		}
		if rec, err := decodeRecord(b); err == nil && rec.kind == kindPoints && len(b) <= maxRecord/2 {
			// Accepted points re-encode to the same values (a varint may
			// have been written longer than needed: compare values).
			w := &wal{}
			var n int
			for p := rec.pts; len(p) > 0; n++ {
				base, t1, v, rest, ok := nextPoint(p)
				if !ok {
					t.Fatalf("accepted points record has a bad point")
				}
				w.addPoint(base, t1, v)
				p = rest
			}
			w.endPoints()
			again, err := decodeRecord(w.pbuf[recordPrefix:])
			if err != nil || again.kind != kindPoints || n == 0 {
				t.Fatalf("points record does not round-trip: %v", err)
			}
			for p, q := rec.pts, again.pts; len(p) > 0; {
				b1, t1, v1, r1, _ := nextPoint(p)
				b2, t2, v2, r2, _ := nextPoint(q)
				if b1 != b2 || t1 != t2 || math.Float64bits(v1) != math.Float64bits(v2) {
					t.Fatalf("points record does not round-trip")
				}
				p, q = r1, r2
			}
		}
	})
}
