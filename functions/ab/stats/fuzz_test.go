package stats_test

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/wharfhq/wharf/functions/ab/stats"
)

// FuzzParseTrim: the --trim value of the CLI and the API; what parses
// prints back to itself.
func FuzzParseTrim(f *testing.F) {
	for _, s := range []string{"", "none", "iqr", "iqr:pooled", "cap:0.99", "cap:1e-3:pooled", "cap:", ":", "cap:0x1p-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tr, err := stats.ParseTrim(s)
		if err != nil {
			return
		}
		again, err := stats.ParseTrim(tr.String())
		if err != nil || again != tr {
			t.Fatalf("ParseTrim(%q) = %+v, prints %q, which parses to %+v, %v", s, tr, tr.String(), again, err)
		}
	})
}

// FuzzTrimAndCompare feeds arbitrary values through trimming, summaries,
// Welch and SRM: no panic, units are kept or counted as lost, p-values
// stay in [0, 1] when they are numbers.
func FuzzTrimAndCompare(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24}, uint8(9), "iqr")
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0xf0, 0x7f, 1, 2, 3, 4, 5, 6, 7, 8}, uint8(1), "cap:0.5:pooled")
	f.Fuzz(func(t *testing.T, raw []byte, split uint8, trim string) {
		tr, err := stats.ParseTrim(trim)
		if err != nil {
			return
		}
		var values []float64
		for len(raw) >= 8 {
			values = append(values, math.Float64frombits(binary.LittleEndian.Uint64(raw)))
			raw = raw[8:]
		}
		k := min(int(split), len(values))
		arms := [][]float64{values[:k], values[k:]}
		out, lost := tr.Apply(arms)
		for i := range arms {
			if len(out[i])+lost[i] != len(arms[i]) {
				t.Fatalf("arm %d: %d kept + %d lost ≠ %d", i, len(out[i]), lost[i], len(arms[i]))
			}
		}
		a, b := stats.Summarize(out[0]), stats.Summarize(out[1])
		if c, err := stats.Welch(a, b, 0.05); err == nil && c.PValue > 1+1e-12 {
			t.Fatalf("Welch p-value %v > 1", c.PValue)
		}
		s := stats.CheckSRM([]float64{float64(a.Units), float64(b.Units)}, []float64{0.5, 0.5})
		if s.PValue < 0 || s.PValue > 1+1e-12 {
			t.Fatalf("SRM p-value %v", s.PValue)
		}
	})
}
