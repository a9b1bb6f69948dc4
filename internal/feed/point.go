// Package feed is how Wharf's own parts feed their metrics to the monitor:
// a Point in Open-Falcon's push format, a Sink that takes a step's points
// (the monitor function in the same process, or HTTPSink over
// POST /api/v1/metrics/push), and Run, the loop that collects and pushes
// every step. Packages that may not import functions/* (the gateway, the
// agent) depend on this one only.
package feed

import (
	"context"
	"encoding/json"
	"strconv"
)

// CounterType GAUGE: the value is stored as it is.
const Gauge = "GAUGE"

// Point is one metric point in Open-Falcon's push format.
type Point struct {
	Endpoint    string  `json:"endpoint"`
	Metric      string  `json:"metric"`
	Timestamp   int64   `json:"timestamp"`
	Step        int64   `json:"step"`
	Value       float64 `json:"value"`
	CounterType string  `json:"counterType"`
	// Tags are "k1=v1,k2=v2".
	Tags string `json:"tags"`
}

// Sink takes one step's points.
type Sink interface {
	Push(ctx context.Context, points []Point) error
}

// AppendJSON appends points as a Falcon push body (a JSON array) to dst.
func AppendJSON(dst []byte, points []Point) []byte {
	dst = append(dst, '[')
	for i := range points {
		p := &points[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"endpoint":`...)
		dst = appendString(dst, p.Endpoint)
		dst = append(dst, `,"metric":`...)
		dst = appendString(dst, p.Metric)
		dst = append(dst, `,"timestamp":`...)
		dst = strconv.AppendInt(dst, p.Timestamp, 10)
		dst = append(dst, `,"step":`...)
		dst = strconv.AppendInt(dst, p.Step, 10)
		dst = append(dst, `,"value":"`...)
		dst = strconv.AppendFloat(dst, p.Value, 'g', -1, 64)
		dst = append(dst, `","counterType":`...)
		dst = appendString(dst, p.CounterType)
		dst = append(dst, `,"tags":`...)
		dst = appendString(dst, p.Tags)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

func appendString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return append(dst, b...)
}

// Tags joins k=v pairs into Falcon's tag string; a pair with an empty
// value is left out, and a ',', '=' or space in a value (a mount path, say)
// becomes '_', as Falcon's tag string cannot hold them.
func Tags(kv ...string) string {
	var out []byte
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			continue
		}
		if len(out) > 0 {
			out = append(out, ',')
		}
		out = append(out, kv[i]...)
		out = append(out, '=')
		for _, c := range []byte(kv[i+1]) {
			if c == ',' || c == '=' || c == ' ' {
				c = '_'
			}
			out = append(out, c)
		}
	}
	return string(out)
}
