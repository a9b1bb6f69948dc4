package rrd_test

import (
	"testing"

	"github.com/wharfhq/wharf/monitoring/rrd"
)

func benchSeries(b *testing.B, typ string) *rrd.Series {
	spec, err := rrd.FalconSpec(60, typ)
	if err != nil {
		b.Fatal(err)
	}
	s, err := rrd.NewSeries(spec, 1_700_000_000)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkUpdate is one point per step into a Falcon-layout series in
// memory (every 5th, 20th, ... update also closes coarser rows).
func BenchmarkUpdate(b *testing.B) {
	for _, typ := range []string{"GAUGE", "DERIVE"} {
		b.Run(typ, func(b *testing.B) {
			s := benchSeries(b, typ)
			t := int64(1_700_000_000)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				t += 60
				if err := s.Update(t, float64(i*7)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFetch answers the last 12 hours at the finest resolution (720
// rows) and the last week at 20 minutes (504 rows) from a filled series.
func BenchmarkFetch(b *testing.B) {
	s := benchSeries(b, "GAUGE")
	t := int64(1_700_000_000)
	for i := range 20000 {
		t += 60
		_ = s.Update(t, float64(i%100))
	}
	for _, c := range []struct {
		name string
		q    rrd.Query
	}{
		{"12h-1m", rrd.Query{CF: rrd.Average, Start: t - 720*60, End: t, Step: 60}},
		{"7d-20m-max", rrd.Query{CF: rrd.Max, Start: t - 504*1200, End: t, Step: 1200}},
	} {
		b.Run(c.name, func(b *testing.B) {
			dst := make([]float64, 0, 1024)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if _, dst, err = s.Fetch(c.q, dst[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
