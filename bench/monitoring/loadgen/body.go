package main

import (
	"strconv"
)

// Series naming shared by both targets: series i is endpoint host-<i/10>,
// metric bench.load, tags env=bench,k=<i%10>. For Wharf that is Falcon's PK
// host-00042/bench.load/env=bench,k=3; for VictoriaMetrics the labels
// {__name__="bench.load",endpoint="host-00042",env="bench",k="3"}.
const (
	loadMetric = "bench.load"
	// Step is the pushed step; each pass over the series advances the
	// timestamp by it, so every point is newer than its series' last one.
	step = 30
)

// value is the value of series i in pass p: deterministic, varied, never
// near the load strategy's threshold.
func value(i, p int) int { return (i*7 + p*13) % 1000 }

// appendFalcon appends a Falcon push (a JSON array) of the points seq ..
// seq+n-1 of the global sequence: point q is series q%series in pass
// q/series at base + pass*step.
func appendFalcon(b []byte, seq, n, series int, base int64) []byte {
	b = append(b, '[')
	for q := seq; q < seq+n; q++ {
		if q > seq {
			b = append(b, ',')
		}
		i, p := q%series, q/series
		b = append(b, `{"endpoint":"host-`...)
		b = appendPadded(b, i/10)
		b = append(b, `","metric":"`+loadMetric+`","timestamp":`...)
		b = strconv.AppendInt(b, base+int64(p)*step, 10)
		b = append(b, `,"step":`+strconv.Itoa(step)+`,"value":`...)
		b = strconv.AppendInt(b, int64(value(i, p)), 10)
		b = append(b, `,"counterType":"GAUGE","tags":"env=bench,k=`...)
		b = strconv.AppendInt(b, int64(i%10), 10)
		b = append(b, `"}`...)
	}
	return append(b, ']')
}

// appendVMImport appends the same points in VictoriaMetrics' JSON line
// import format (/api/v1/import): one line per point, one sample each,
// timestamps in milliseconds.
func appendVMImport(b []byte, seq, n, series int, base int64) []byte {
	for q := seq; q < seq+n; q++ {
		i, p := q%series, q/series
		b = append(b, `{"metric":{"__name__":"`+loadMetric+`","endpoint":"host-`...)
		b = appendPadded(b, i/10)
		b = append(b, `","env":"bench","k":"`...)
		b = strconv.AppendInt(b, int64(i%10), 10)
		b = append(b, `"},"values":[`...)
		b = strconv.AppendInt(b, int64(value(i, p)), 10)
		b = append(b, `],"timestamps":[`...)
		b = strconv.AppendInt(b, (base+int64(p)*step)*1000, 10)
		b = append(b, "]}\n"...)
	}
	return b
}

// appendPadded appends v as at least five digits.
func appendPadded(b []byte, v int) []byte {
	for d := 10000; d > 1 && v < d; d /= 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(v), 10)
}
