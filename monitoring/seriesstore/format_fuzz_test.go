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
	w.addPoint("k", 1_700_000_000, math.Pi)
	f.Add(w.buf[recordPrefix:])
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
			w.addPoint(rec.key, rec.t, rec.v)
			if !bytes.Equal(w.buf[recordPrefix:], b) {
				t.Fatalf("point record does not round-trip")
			}
		}
	})
}
