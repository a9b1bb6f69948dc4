package judge

import (
	"testing"
	"time"

	"github.com/wharfhq/wharf/monitoring/strategy"
)

// BenchmarkJudge is one evaluation — one new point of a series judged by
// one strategy, no event — for every function, on GAUGE and COUNTER.
func BenchmarkJudge(b *testing.B) {
	for _, fn := range []string{"all(#3)", "max(#3)", "min(#3)", "sum(#3)", "avg(#3)", "diff(#3)", "pdiff(#3)",
		"lookup(#2,3)", "stddev(#10)", "kdiff(#3,3)", "kpdiff(#3,3)"} {
		for _, typ := range []CounterType{Gauge, Counter} {
			name := fn + "/gauge"
			if typ == Counter {
				name = fn + "/counter"
			}
			b.Run(name, func(b *testing.B) {
				c := compile(b, strategy.Strategy{Func: fn, Operator: "<", RightValue: -1e9})
				pts := series(60, 60, repeat(50, 20)...)
				for i := range pts {
					pts[i].Type, pts[i].Value = typ, float64(i*i)
				}
				st, _ := feed(c, State{}, pts)
				p := pts[len(pts)-1]
				in := []Point{p}
				now := time.Unix(0, 0)
				b.ReportAllocs()
				for b.Loop() {
					in[0].Timestamp += 60
					in[0].Value += 7
					st, _ = Judge(st, c, in, now)
				}
			})
		}
	}
}

// BenchmarkStateCodec is one encode and decode of an 11-point state (the
// consumer's store round trip, without the store).
func BenchmarkStateCodec(b *testing.B) {
	c := compile(b, strategy.Strategy{Func: "kdiff(#5,5)", Operator: ">", RightValue: 1})
	st, _ := feed(c, State{}, series(60, 60, repeat(50, 20)...))
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = st.AppendBinary(buf[:0])
		var got State
		if err := got.UnmarshalBinary(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(buf)), "bytes/state")
}

// BenchmarkStateEncode is one encoding of the bench load's state (two
// tags, a window of 4 points): what the runner's flush pays per state.
func BenchmarkStateEncode(b *testing.B) {
	c := compile(b, strategy.Strategy{Func: "all(#3)", Operator: ">", RightValue: 1e18})
	st, _ := feed(c, State{}, series(60, 60, repeat(50, 6)...))
	st.Tags = map[string]string{"k": "7", "env": "bench"}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = st.AppendBinary(buf[:0])
	}
	b.ReportMetric(float64(len(buf)), "bytes/state")
}
