package metric

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

// decodeBatchJSON is DecodeBatch without its fast path.
func decodeBatchJSON(b []byte) ([]Point, error) {
	var m batchJSON
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	pts := make([]Point, 0, len(m.Points))
	for _, p := range m.Points {
		var v float64
		switch string(p.Value) {
		case `"NaN"`:
			v = math.NaN()
		case `"+Inf"`:
			v = math.Inf(1)
		case `"-Inf"`:
			v = math.Inf(-1)
		default:
			if err := json.Unmarshal(p.Value, &v); err != nil {
				return nil, err
			}
		}
		pts = append(pts, Point{Endpoint: p.Endpoint, Metric: p.Metric, Tags: p.Tags, CounterType: p.CounterType, Step: p.Step, Time: p.Time, Value: v})
	}
	return pts, nil
}

// samePoints compares points bit for bit (NaN equals NaN).
func samePoints(a, b []Point) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Endpoint != y.Endpoint || x.Metric != y.Metric || x.Tags != y.Tags || x.CounterType != y.CounterType ||
			x.Step != y.Step || x.Time != y.Time || math.Float64bits(x.Value) != math.Float64bits(y.Value) {
			return false
		}
	}
	return true
}

// The fast path takes everything AppendBatchJSON writes (strings without
// escapes) and gives encoding/json's points.
func TestFastBatchDecodeTakesAppendBatchOutput(t *testing.T) {
	t.Parallel()
	pts := []Point{
		{Endpoint: "web-1", Metric: "cpu.busy", Tags: "core=all,env=prod", CounterType: "GAUGE", Step: 60, Time: 1700000000, Value: 91.5},
		{Endpoint: "web-1", Metric: "net.in", Tags: "", CounterType: "COUNTER", Step: 30, Time: -5, Value: -1e-300},
		{Endpoint: "wëb-2", Metric: "x", CounterType: "DERIVE", Step: 1, Time: 0, Value: math.NaN()},
		{Endpoint: "a", Metric: "b", CounterType: "GAUGE", Step: 1, Time: 1, Value: math.Inf(1)},
		{Endpoint: "a", Metric: "b", CounterType: "GAUGE", Step: 1, Time: 2, Value: math.Inf(-1)},
		{Endpoint: "a", Metric: "b", CounterType: "GAUGE", Step: 1, Time: 3, Value: 1.7976931348623157e308},
	}
	for n := 0; n <= len(pts); n++ {
		body := AppendBatchJSON(nil, pts[:n])
		fast, ok := decodeBatchFast(body)
		if !ok {
			t.Fatalf("fast path refused %s", body)
		}
		ref, err := decodeBatchJSON(body)
		if err != nil {
			t.Fatal(err)
		}
		if !samePoints(fast, ref) {
			t.Fatalf("fast %+v, encoding/json %+v for %s", fast, ref, body)
		}
	}
	// Escaped strings (the push decoder's scanner unescapes them) decode
	// as encoding/json decodes them.
	for _, body := range []string{
		`{"v":1,"points":[{"endpoint":"a\"b","metric":"m\u00e9\n","tags":"","counterType":"GAUGE","step":1,"timestamp":1,"value":1}]}`,
		string(AppendBatchJSON(nil, []Point{{Endpoint: "tab\there", Metric: "ctl\x01", Tags: "k=\"v\"", CounterType: "GAUGE", Step: 1, Time: 1, Value: 2}})),
	} {
		fast, ok := decodeBatchFast([]byte(body))
		ref, err := decodeBatchJSON([]byte(body))
		if !ok || err != nil || !samePoints(fast, ref) {
			t.Errorf("escaped strings in %s: fast %+v (%v), encoding/json %+v (%v)", body, fast, ok, ref, err)
		}
	}
	// Other spellings go to encoding/json.
	for _, body := range []string{
		`{"v":1, "points":[]}`,
		`{"points":[],"v":1}`,
		`{"v":1,"points":[{"endpoint":"a","metric":"m","tags":"","counterType":"GAUGE","step":1,"timestamp":1,"value":01}]}`,
		`{"v":1,"points":[{"endpoint":"a","metric":"m","tags":"","counterType":"GAUGE","step":1,"timestamp":1,"value":Inf}]}`,
		`{"v":1,"points":[{"endpoint":"a","metric":"m","tags":"","counterType":"GAUGE","step":1,"timestamp":1,"value":1}]}x`,
	} {
		if _, ok := decodeBatchFast([]byte(body)); ok {
			t.Errorf("fast path took %s", body)
		}
	}
}

// FuzzFastBatchDecode: whenever the fast path takes a body, encoding/json
// decodes it to the same points; it never panics.
func FuzzFastBatchDecode(f *testing.F) {
	f.Add(AppendBatchJSON(nil, []Point{{Endpoint: "e", Metric: "m", Tags: "a=b", CounterType: "GAUGE", Step: 60, Time: 60, Value: 1.25}}))
	f.Add([]byte(`{"v":1,"points":[]}`))
	f.Add([]byte(`{"v":1,"points":[{"endpoint":"","metric":"","tags":"","counterType":"","step":-0,"timestamp":1e3,"value":"NaN"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, ok := decodeBatchFast(body)
		if !ok {
			return
		}
		ref, err := decodeBatchJSON(body)
		if err != nil {
			t.Fatalf("fast path took %q, encoding/json refuses it: %v", body, err)
		}
		if !samePoints(fast, ref) {
			t.Fatalf("fast %+v, encoding/json %+v for %q", fast, ref, body)
		}
		if !bytes.Equal(AppendBatchJSON(nil, fast), AppendBatchJSON(nil, ref)) {
			t.Fatal("re-encodings differ")
		}
		// Into a used slice, with an interner: the same points.
		strs := map[string]string{}
		into, err := DecodeBatchInto(make([]Point, 3, 5), body, func(b []byte) string {
			if s, ok := strs[string(b)]; ok {
				return s
			}
			strs[string(b)] = string(b)
			return string(b)
		})
		if err != nil || !samePoints(into, fast) {
			t.Fatalf("into %+v (%v), fast %+v for %q", into, err, fast, body)
		}
	})
}

// BenchmarkDecodeBatch decodes a batch of an agent's 125 points in each format.
func BenchmarkDecodeBatch(b *testing.B) {
	points := agentPoints(125)
	for _, f := range []BatchFormat{BatchBinary, BatchJSON} {
		b.Run(f.String(), func(b *testing.B) {
			body := f.Append(nil, points)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeBatch(body); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(points)), "ns/point")
		})
	}
}

func BenchmarkDecodeBatchEncodingJSON(b *testing.B) {
	points := agentPoints(125)
	body := AppendBatchJSON(nil, points)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeBatchJSON(body); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(points)), "ns/point")
}

// DecodeBatchInto decodes batch after batch into the same slice, with the
// consumer's strings, to the points DecodeBatch gives, in both formats.
func TestDecodeBatchIntoReusesAndInterns(t *testing.T) {
	t.Parallel()
	// The distinct endpoints, metrics and tags ("" too); counter types are
	// constants, and JSON spells a NaN value as the string "NaN".
	for format, want := range map[BatchFormat]int{BatchBinary: 9, BatchJSON: 10} {
		seen := map[string]string{}
		intern := func(b []byte) string {
			if s, ok := seen[string(b)]; ok {
				return s
			}
			s := string(b)
			seen[s] = s
			return s
		}
		var dst []Point
		for _, pts := range [][]Point{
			{{Endpoint: "web-1", Metric: "cpu", Tags: "a=b", CounterType: "GAUGE", Step: 60, Time: 60, Value: 1}, {Endpoint: "web-2", Metric: "cpu", CounterType: "COUNTER", Step: 60, Time: 60, Value: math.NaN()}},
			{{Endpoint: "web-1", Metric: "cpu", Tags: "a=b", CounterType: "GAUGE", Step: 60, Time: 120, Value: 2}},
			{},
			{{Endpoint: "web-3", Metric: "mem", CounterType: "GAUGE", Step: 30, Time: 30, Value: 3}, {Endpoint: "web-1", Metric: "cpu", Tags: "a=b", CounterType: "GAUGE", Step: 60, Time: 180, Value: 4}, {Endpoint: "x", Metric: "y", CounterType: "DERIVE", Step: 1, Time: 1, Value: 5}},
		} {
			body := format.Append(nil, pts)
			got, err := DecodeBatchInto(dst, body, intern)
			if err != nil {
				t.Fatal(err)
			}
			want, err := DecodeBatch(body)
			if err != nil {
				t.Fatal(err)
			}
			if !samePoints(got, want) {
				t.Fatalf("%s: into %+v, DecodeBatch %+v", format, got, want)
			}
			dst = got
		}
		if len(seen) != want {
			t.Fatalf("%s: interned %d strings, want the %d distinct ones: %v", format, len(seen), want, seen)
		}
	}
	// Not the fast layout: encoding/json, into a slice of its own.
	var dst []Point
	intern := func(b []byte) string { return string(b) }
	got, err := DecodeBatchInto(dst, []byte(`{"points":[{"endpoint":"a","metric":"m","tags":"","counterType":"GAUGE","step":1,"timestamp":1,"value":1}],"v":1}`), intern)
	if err != nil || len(got) != 1 || got[0].Endpoint != "a" {
		t.Fatalf("another layout: %+v %v", got, err)
	}
}
