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
	h := header{Key: "host/cpu.idle/core=1", Spec: spec, State: rrd.NewState(&spec, 1_700_000_000)}
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
