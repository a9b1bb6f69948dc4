package metric

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// BatchVersion is the version of the JSON batch message (BatchJSON); the
// binary one (BatchBinary) is version 2. A consumer refuses other versions.
const BatchVersion = 1

// AppendBatch appends the message of a batch of points to dst in the
// default format (BatchBinary).
func AppendBatch(dst []byte, points []Point) []byte { return BatchBinary.Append(dst, points) }

// AppendBatchJSON appends the JSON message (version 1) of a batch of points to dst:
//
//	{"v":1,"points":[{"endpoint":..,"metric":..,"tags":"k=v,..","counterType":..,"step":60,"timestamp":..,"value":1.5},...]}
//
// Tags are canonical. A value that is NaN or infinite (Falcon accepts
// "NaN" and "Inf" strings) is written as the string "NaN", "+Inf" or "-Inf".
func AppendBatchJSON(dst []byte, points []Point) []byte { return BatchJSON.Append(dst, points) }

// appendJSONPoint appends one point of a JSON batch.
func appendJSONPoint(dst []byte, p *Point, first bool) []byte {
	if !first {
		dst = append(dst, ',')
	}
	dst = append(dst, `{"endpoint":`...)
	dst = appendString(dst, p.Endpoint)
	dst = append(dst, `,"metric":`...)
	dst = appendString(dst, p.Metric)
	dst = append(dst, `,"tags":`...)
	dst = appendString(dst, p.Tags)
	dst = append(dst, `,"counterType":`...)
	dst = appendString(dst, p.CounterType)
	dst = append(dst, `,"step":`...)
	dst = strconv.AppendInt(dst, p.Step, 10)
	dst = append(dst, `,"timestamp":`...)
	dst = strconv.AppendInt(dst, p.Time, 10)
	dst = append(dst, `,"value":`...)
	switch {
	case finite(p.Value):
		dst = strconv.AppendFloat(dst, p.Value, 'g', -1, 64)
	case math.IsNaN(p.Value):
		dst = append(dst, `"NaN"`...)
	case p.Value > 0:
		dst = append(dst, `"+Inf"`...)
	default:
		dst = append(dst, `"-Inf"`...)
	}
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string (invalid UTF-8 as U+FFFD).
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	if plainJSON(s) {
		dst = append(dst, s...)
		return append(dst, '"')
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return append(dst, '"')
}

// plainJSON reports whether s is printable ASCII without '"' or '\\': it
// goes into a JSON string as it is (endpoints, metrics and tags nearly always).
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// batchJSON is the decoded form of a batch message.
type batchJSON struct {
	V      int         `json:"v"`
	Points []pointJSON `json:"points"`
}

type pointJSON struct {
	Endpoint    string          `json:"endpoint"`
	Metric      string          `json:"metric"`
	Tags        string          `json:"tags"`
	CounterType string          `json:"counterType"`
	Step        int64           `json:"step"`
	Time        int64           `json:"timestamp"`
	Value       json.RawMessage `json:"value"`
}

// DecodeBatch reads a batch message of either format (AppendBatch,
// AppendBatchJSON).
func DecodeBatch(b []byte) ([]Point, error) { return DecodeBatchInto(nil, b, nil) }

// DecodeBatchInto is DecodeBatch for a consumer that decodes batch after
// batch: the points are appended to dst[:0], and intern, when not nil,
// makes every string of the batch from its bytes (which it must not keep),
// so that a consumer can keep the strings it has seen before instead of
// allocating them again (nil: the decoder's own per-batch tables).
func DecodeBatchInto(dst []Point, b []byte, intern func([]byte) string) ([]Point, error) {
	if isBinaryBatch(b) {
		strs := batchStrings{fn: intern}
		return decodeBatchBinary(dst[:0], b, &strs) // batch_bin.go
	}
	if pts, ok := decodeBatchFastInto(dst, b, intern); ok { // batch_fast.go
		return pts, nil
	}
	var m batchJSON
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("cannot decode metric batch: %w", err)
	}
	if m.V != BatchVersion {
		return nil, fmt.Errorf("cannot decode metric batch: version %d, want %d", m.V, BatchVersion)
	}
	out := make([]Point, len(m.Points))
	for i, p := range m.Points {
		var v float64
		switch s := string(p.Value); s {
		case `"NaN"`:
			v = math.NaN()
		case `"+Inf"`:
			v = math.Inf(1)
		case `"-Inf"`:
			v = math.Inf(-1)
		default:
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("cannot decode metric batch: point %d: value %q", i, s)
			}
			v = f
		}
		out[i] = Point{Endpoint: p.Endpoint, Metric: p.Metric, Tags: p.Tags, CounterType: p.CounterType, Step: p.Step, Time: p.Time, Value: v}
	}
	return out, nil
}
