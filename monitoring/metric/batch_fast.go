package metric

import (
	"bytes"
	"math"
	"strconv"
)

// The exact bytes AppendBatch writes, in its order.
const (
	batchHead     = `{"v":1,"points":[`
	fastEndpoint  = `{"endpoint":`
	fastMetric    = `,"metric":`
	fastTags      = `,"tags":`
	fastCounter   = `,"counterType":`
	fastStep      = `,"step":`
	fastTimestamp = `,"timestamp":`
	fastValue     = `,"value":`
	batchEnd      = `]}`
	maxFastPoints = 1 << 20
)

// decodeBatchFast decodes b when it is laid out exactly as AppendBatch
// writes it, with the push decoder's scanner (decoder: strings with their
// escapes, numbers with JSON's syntax) instead of encoding/json's
// reflection: the series writer and the judge decode every batch, and
// reflection cost them microseconds per point. Any other layout (key
// order, whitespace) gives ok false, and DecodeBatch falls back to
// encoding/json, so the format stays JSON.
func decodeBatchFast(b []byte) (pts []Point, ok bool) { return decodeBatchFastInto(nil, b, nil) }

// decodeBatchFastInto is decodeBatchFast appending to dst[:0] (counting
// the points first only when dst has no room), making the strings with
// intern (nil: the decoder's per-field tables of recent strings).
func decodeBatchFastInto(dst []Point, b []byte, intern func([]byte) string) (pts []Point, ok bool) {
	if !bytes.HasPrefix(b, []byte(batchHead)) {
		return nil, false
	}
	out := dst[:0]
	if cap(out) == 0 {
		n := bytes.Count(b, []byte(fastEndpoint))
		if n > maxFastPoints {
			return nil, false
		}
		out = make([]Point, 0, n)
	}
	d := decoder{b: b, i: len(batchHead)}
	// The batch's strings: through intern when given, else interned per
	// field (endpoint, metric, tags) in the decoder's tables; the counter
	// types are constants.
	field := func(f int) (string, bool) {
		raw, err := d.str()
		if err != nil {
			return "", false
		}
		switch {
		case f < 0:
			return counterType(raw), true
		case intern != nil:
			return intern(raw), true
		}
		return d.recent[f].intern(raw), true
	}
	str := func() (string, bool) { return field(fieldTags) }
	if d.lit(batchEnd) {
		return out, d.i == len(b)
	}
	for {
		var p Point
		var okE, okM, okT, okC bool
		var err1, err2 error
		if !d.lit(fastEndpoint) {
			return nil, false
		}
		p.Endpoint, okE = field(fieldEndpoint)
		if !okE || !d.lit(fastMetric) {
			return nil, false
		}
		p.Metric, okM = field(fieldMetric)
		if !okM || !d.lit(fastTags) {
			return nil, false
		}
		p.Tags, okT = field(fieldTags)
		if !okT || !d.lit(fastCounter) {
			return nil, false
		}
		p.CounterType, okC = field(-1)
		if !okC || !d.lit(fastStep) {
			return nil, false
		}
		p.Step, err1 = d.integer()
		if err1 != nil || !d.lit(fastTimestamp) {
			return nil, false
		}
		p.Time, err2 = d.integer()
		if err2 != nil || !d.lit(fastValue) {
			return nil, false
		}
		v, ok := batchValue(&d, str)
		if !ok || !d.eat('}') {
			return nil, false
		}
		p.Value = v
		if len(out) == maxFastPoints {
			return nil, false
		}
		out = append(out, p)
		if d.eat(',') {
			continue
		}
		return out, d.lit(batchEnd) && d.i == len(b)
	}
}

// batchValue reads a point value: a JSON number, or the string "NaN",
// "+Inf" or "-Inf" AppendBatch writes for values JSON has no number for.
func batchValue(d *decoder, str func() (string, bool)) (float64, bool) {
	if d.i < len(d.b) && d.b[d.i] == '"' {
		switch s, _ := str(); s {
		case "NaN":
			return math.NaN(), true
		case "+Inf":
			return math.Inf(1), true
		case "-Inf":
			return math.Inf(-1), true
		}
		return 0, false
	}
	lit, err := d.number()
	if err != nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(lit), 64)
	return v, err == nil
}
