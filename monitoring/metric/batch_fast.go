package metric

import (
	"bytes"
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// batchHead and the keys below are what AppendBatch writes, in its order.
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

// batchScanner decodes the exact bytes AppendBatch writes without
// reflection: the series writer and the judge decode every batch, and
// encoding/json cost them microseconds per point. Anything else — other
// key order, whitespace, an escaped string — makes it give up, and
// DecodeBatch falls back to encoding/json, so the format stays JSON.
type batchScanner struct {
	b   []byte
	i   int
	ok  bool
	str map[string]string // the strings of this batch, each allocated once
}

// decodeBatchFast decodes b when it is exactly AppendBatch's output; ok
// false means "not that form", not "invalid".
func decodeBatchFast(b []byte) (pts []Point, ok bool) {
	if !bytes.HasPrefix(b, []byte(batchHead)) {
		return nil, false
	}
	n := bytes.Count(b, []byte(fastEndpoint))
	if n > maxFastPoints {
		return nil, false
	}
	s := batchScanner{b: b, i: len(batchHead), ok: true, str: make(map[string]string, 8)}
	out := make([]Point, 0, n)
	if s.peek(']') {
		s.lit(batchEnd)
		return out, s.ok && s.i == len(b)
	}
	for s.ok {
		var p Point
		s.lit(fastEndpoint)
		p.Endpoint = s.string()
		s.lit(fastMetric)
		p.Metric = s.string()
		s.lit(fastTags)
		p.Tags = s.string()
		s.lit(fastCounter)
		p.CounterType = s.string()
		s.lit(fastStep)
		p.Step = s.int()
		s.lit(fastTimestamp)
		p.Time = s.int()
		s.lit(fastValue)
		p.Value = s.value()
		s.lit("}")
		if !s.ok {
			return nil, false
		}
		out = append(out, p)
		if s.peek(',') {
			s.i++
			continue
		}
		s.lit(batchEnd)
		break
	}
	return out, s.ok && s.i == len(b)
}

func (s *batchScanner) peek(c byte) bool { return s.ok && s.i < len(s.b) && s.b[s.i] == c }

// lit consumes lit or fails.
func (s *batchScanner) lit(lit string) {
	if !s.ok || !bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		s.ok = false
		return
	}
	s.i += len(lit)
}

// string consumes a JSON string without escapes and returns it interned.
func (s *batchScanner) string() string {
	if !s.peek('"') {
		s.ok = false
		return ""
	}
	rest := s.b[s.i+1:]
	end := bytes.IndexByte(rest, '"')
	if end < 0 || bytes.IndexByte(rest[:end], '\\') >= 0 {
		s.ok = false
		return ""
	}
	raw := rest[:end]
	s.i += end + 2
	if v, ok := s.str[string(raw)]; ok { // no allocation for the lookup
		return v
	}
	for _, c := range raw {
		if c < 0x20 {
			s.ok = false
			return ""
		}
	}
	if !utf8.Valid(raw) { // encoding/json would replace the bad bytes
		s.ok = false
		return ""
	}
	v := string(raw)
	s.str[v] = v
	return v
}

// number returns the bytes of the number at the cursor (up to ',' or '}').
func (s *batchScanner) number() []byte {
	if !s.ok {
		return nil
	}
	j := s.i
	for j < len(s.b) && s.b[j] != ',' && s.b[j] != '}' {
		j++
	}
	raw := s.b[s.i:j]
	s.i = j
	if len(raw) == 0 {
		s.ok = false
	}
	return raw
}

// int consumes a JSON integer.
func (s *batchScanner) int() int64 {
	raw := s.number()
	if !s.ok {
		return 0
	}
	v, err := strconv.ParseInt(unsafeString(raw), 10, 64)
	if err != nil || (len(raw) > 1 && raw[0] == '0') || raw[0] == '+' {
		s.ok = false
	}
	return v
}

// value consumes a point value: a JSON number or "NaN", "+Inf", "-Inf".
func (s *batchScanner) value() float64 {
	if s.peek('"') {
		switch str := s.string(); str {
		case "NaN":
			return math.NaN()
		case "+Inf":
			return math.Inf(1)
		case "-Inf":
			return math.Inf(-1)
		}
		s.ok = false
		return 0
	}
	raw := s.number()
	if !s.ok {
		return 0
	}
	if !jsonNumber(raw) {
		s.ok = false
		return 0
	}
	v, err := strconv.ParseFloat(unsafeString(raw), 64)
	if err != nil {
		s.ok = false
	}
	return v
}

// jsonNumber reports whether raw has JSON's number syntax (ParseFloat also
// takes "Inf", hex, underscores and a leading '+').
func jsonNumber(raw []byte) bool {
	i := 0
	if raw[0] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(raw) && raw[i] >= '0' && raw[i] <= '9' {
			i++
			n++
		}
		return n
	}
	start := i
	if n := digits(); n == 0 || (n > 1 && raw[start] == '0') {
		return false
	}
	if i < len(raw) && raw[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(raw) && (raw[i] == 'e' || raw[i] == 'E') {
		i++
		if i < len(raw) && (raw[i] == '+' || raw[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(raw)
}

// unsafeString views b as a string for a parse that does not keep it (the
// error, which would, is dropped).
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
