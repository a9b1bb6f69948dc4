package metric

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

// The binary batch gives back every point bit for bit, whatever its
// strings, counter type, step, time and value, and is about a third of
// the JSON batch's size for points like an agent's.
func TestBinaryBatchRoundTrip(t *testing.T) {
	t.Parallel()
	pts := []Point{
		{Endpoint: "web-1", Metric: "cpu.busy", Tags: "core=all,env=prod", CounterType: Gauge, Step: 60, Time: 1700000000, Value: 91.5},
		{Endpoint: "web-1", Metric: "cpu.busy", Tags: "core=0,env=prod", CounterType: Gauge, Step: 60, Time: 1700000000, Value: 3},
		{Endpoint: "web-1", Metric: "net.in", Tags: "", CounterType: Counter, Step: 30, Time: -5, Value: -1e-300},
		{Endpoint: "wëb-2\x00\"", Metric: "x", CounterType: Derive, Step: 1, Time: 0, Value: math.NaN()},
		{Endpoint: "a", Metric: "b", CounterType: "weird", Step: -7, Time: math.MaxInt64, Value: math.Inf(1)},
		{Endpoint: "a", Metric: "b", CounterType: Gauge, Step: math.MinInt64, Time: math.MinInt64, Value: math.Inf(-1)},
		{Endpoint: "", Metric: "", Tags: "", CounterType: "", Step: 0, Time: 0, Value: math.Copysign(0, -1)},
	}
	for n := 0; n <= len(pts); n++ {
		body := AppendBatch(nil, pts[:n])
		if !isBinaryBatch(body) {
			t.Fatalf("AppendBatch did not write a binary batch: %q", body)
		}
		got, err := DecodeBatch(body)
		if err != nil || !samePoints(got, pts[:n]) {
			t.Fatalf("%d points: got %+v (%v), want %+v", n, got, err, pts[:n])
		}
	}
	// The strings a consumer keeps are its own, not views of the message.
	body := AppendBatch(nil, pts[:1])
	got, _ := DecodeBatch(body)
	clear(body)
	if got[0].Endpoint != "web-1" || got[0].Tags != "core=all,env=prod" {
		t.Fatalf("the decoded strings alias the message: %+v", got[0])
	}
	agent := agentPoints(125)
	bin, js := len(AppendBatch(nil, agent)), len(AppendBatchJSON(nil, agent))
	if bin*2 > js {
		t.Errorf("binary batch %d bytes, JSON %d: not under half", bin, js)
	}
}

// Every cut of a binary batch and every malformed piece is an error,
// never a panic or a point made up.
func TestBinaryBatchRejectsMalformed(t *testing.T) {
	t.Parallel()
	body := AppendBatch(nil, []Point{
		{Endpoint: "e", Metric: "m", Tags: "a=b", CounterType: Gauge, Step: 60, Time: 60, Value: 1},
		{Endpoint: "e", Metric: "m", Tags: "a=c", CounterType: "other", Step: 60, Time: 120, Value: 2},
	})
	for cut := len(binMagic) + 1; cut < len(body); cut++ {
		if pts, err := DecodeBatch(body[:cut]); err == nil {
			t.Fatalf("cut at %d of %d: %+v, no error", cut, len(body), pts)
		}
	}
	for name, b := range map[string][]byte{
		"unknown flag":        append([]byte(binMagic), 0x80),
		"first refers back":   append([]byte(binMagic), binSameEP),
		"string too long":     append([]byte(binMagic), 0, 0xff, 0xff, 0xff, 0xff, 0x0f),
		"string past the end": append([]byte(binMagic), 0, 5, 'a'),
		"bad varint":          append(append([]byte(binMagic), 0, 0, 0, 0), bytes.Repeat([]byte{0xfe}, 11)...),
		"data after the end":  append(append([]byte(binMagic), binEnd, 0), AppendBatch(nil, nil)[len(binMagic)+1:]...),
		"count too high":      append([]byte(binMagic), binEnd, 1, 0, 0, 0),
		"count wrong":         append(AppendBatch(nil, []Point{{Endpoint: "e"}})[:len(AppendBatch(nil, []Point{{Endpoint: "e"}}))-4], 2, 0, 0, 0),
		"header alone":        []byte(binMagic),
	} {
		if _, err := DecodeBatch(b); !errors.Is(err, errBinBatch) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The header and the end alone are an empty batch.
	if pts, err := DecodeBatch(AppendBatch(nil, nil)); err != nil || len(pts) != 0 {
		t.Fatalf("empty batch: %+v %v", pts, err)
	}
}

// FuzzDecodeBinaryBatch: no input panics, and what decodes re-encodes to
// the same points.
func FuzzDecodeBinaryBatch(f *testing.F) {
	f.Add(AppendBatch(nil, []Point{{Endpoint: "e", Metric: "m", Tags: "a=b", CounterType: Gauge, Step: 60, Time: 60, Value: 1.25}}))
	f.Add(AppendBatch(nil, []Point{{Endpoint: "e", Metric: "m", CounterType: "X", Step: -1, Time: 1}, {Endpoint: "e", Metric: "n", CounterType: Counter}}))
	f.Add(AppendBatch(nil, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		pts, err := DecodeBatch(b)
		if err != nil || !isBinaryBatch(b) {
			return
		}
		again, err := DecodeBatch(AppendBatch(nil, pts))
		if err != nil || !samePoints(pts, again) {
			t.Fatalf("re-encoded %+v: %+v, %v", pts, again, err)
		}
	})
}

// DecodeBatchViews gives DecodeBatch's points; a binary batch's strings
// are views of the message (no allocation), a JSON batch's are its own.
func TestDecodeBatchViews(t *testing.T) {
	pts := []Point{
		{Endpoint: "web-1", Metric: "cpu", Tags: "a=b", CounterType: Gauge, Step: 60, Time: 60, Value: 1},
		{Endpoint: "web-2", Metric: "cpu", CounterType: "odd", Step: 60, Time: 60, Value: math.NaN()},
	}
	for _, f := range []BatchFormat{BatchBinary, BatchJSON} {
		body := f.Append(nil, pts)
		got, err := DecodeBatchViews(nil, body)
		if err != nil || !samePoints(got, pts) {
			t.Fatalf("%s: %+v %v", f, got, err)
		}
	}
	body := AppendBatch(nil, []Point{pts[0], {Endpoint: "web-2", Metric: "mem", CounterType: Counter, Step: 30, Time: 30, Value: 2}})
	dst := make([]Point, 0, 4)
	if n := testing.AllocsPerRun(50, func() { dst, _ = DecodeBatchViews(dst, body) }); n != 0 {
		t.Fatalf("DecodeBatchViews of a binary batch made %.0f allocations", n)
	}
}

// Chunks encoded apart (each starting with a point that refers to none
// before it) and joined with AppendChunk decode as one batch of all their
// points, in both formats, however the points are cut into chunks.
func TestChunksJoinIntoOneBatch(t *testing.T) {
	t.Parallel()
	pts := agentPoints(40)
	for _, format := range []BatchFormat{BatchBinary, BatchJSON} {
		for _, cuts := range [][]int{{40}, {1, 39}, {20, 20}, {3, 7, 13, 17}, {1, 1, 1, 37}} {
			msg := format.AppendStart(nil)
			start := 0
			for i, n := range cuts {
				var chunk []byte
				var prev *Point
				for j := start; j < start+n; j++ {
					chunk = format.AppendPoint(chunk, &pts[j], prev)
					prev = &pts[j]
				}
				msg = format.AppendChunk(msg, chunk, i == 0)
				start += n
			}
			msg = format.AppendEnd(msg, len(pts))
			got, err := DecodeBatch(msg)
			if err != nil || !samePoints(got, pts) {
				t.Fatalf("%v cut %v: got %d points (%v)", format, cuts, len(got), err)
			}
		}
	}
}
