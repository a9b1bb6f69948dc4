package metric

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// pushBody is a push of n items like a Falcon agent's: one endpoint, a few tags.
func pushBody(n int) []byte {
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"endpoint":"host-%d.example","metric":"net.if.in.bytes","timestamp":1700000000,"step":60,"value":%d.5,"counterType":"COUNTER","tags":"iface=eth%d,env=prod"}`, 1, i*1000, i%4)
	}
	b.WriteByte(']')
	return []byte(b.String())
}

// falconBody is a push of n items as a Falcon agent marshals them
// (MetricValue's field order: endpoint, metric, value, step, counterType,
// tags, timestamp): one endpoint, 25 metrics with a few tag sets, integer
// and fractional values.
func falconBody(n int) []byte {
	items := make([]falconItem, n)
	for i := range items {
		var v any = float64(i * 37 % 1000)
		if i%3 == 0 {
			v = float64(i) / 8
		}
		items[i] = falconItem{Endpoint: "web-17.dc2.example", Metric: fmt.Sprintf("sys.metric.%d", i%25), Value: v, Step: 60,
			Type: Gauge, Tags: fmt.Sprintf("iface=eth%d,mount=/data%d", i%2, i%3), Timestamp: 1700000000 + int64(i/100)}
	}
	b, err := json.Marshal(items)
	if err != nil {
		panic(err)
	}
	return b
}

// agentPoints is pushBody(n) decoded and validated.
func agentPoints(n int) []Point {
	items, _ := Decode(pushBody(n), nil)
	points := make([]Point, 0, len(items))
	for i := range items {
		p, _ := Rules{}.Validate(&items[i], now)
		points = append(points, p)
	}
	return points
}

func BenchmarkDecode(b *testing.B) { benchDecode(b, Decode, pushBody(100), 100) }

// BenchmarkDecodeFalconOrder decodes a push as Falcon's own agent sends it.
func BenchmarkDecodeFalconOrder(b *testing.B) { benchDecode(b, Decode, falconBody(1000), 1000) }

// BenchmarkDecodeBefore is BenchmarkDecode with the decoder before its speed work.
func BenchmarkDecodeBefore(b *testing.B) { benchDecode(b, refDecode, pushBody(100), 100) }

// BenchmarkDecodeFalconOrderBefore is BenchmarkDecodeFalconOrder with the
// decoder before its speed work.
func BenchmarkDecodeFalconOrderBefore(b *testing.B) {
	benchDecode(b, refDecode, falconBody(1000), 1000)
}

// BenchmarkDecodeOneItem is a push of one item: what the decoder's tables
// cost to set up.
func BenchmarkDecodeOneItem(b *testing.B) { benchDecode(b, Decode, pushBody(1), 1) }

// BenchmarkDecodeOneItemBefore is BenchmarkDecodeOneItem with the decoder
// before its speed work.
func BenchmarkDecodeOneItemBefore(b *testing.B) { benchDecode(b, refDecode, pushBody(1), 1) }

func benchDecode(b *testing.B, decode func([]byte, []Item) ([]Item, error), body []byte, n int) {
	items := make([]Item, 0, n)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if items, err = decode(body, items[:0]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/item")
}

func BenchmarkDecodeValidate(b *testing.B) {
	body := pushBody(100)
	items := make([]Item, 0, 100)
	points := make([]Point, 0, 100)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		items, _ = Decode(body, items[:0])
		points = points[:0]
		for i := range items {
			if p, err := (Rules{}).Validate(&items[i], now); err == nil {
				points = append(points, p)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/item")
}

// BenchmarkDecodeEncodingJSON is the reference: Falcon's way (encoding/json into []*MetricValue).
func BenchmarkDecodeEncodingJSON(b *testing.B) {
	body := pushBody(100)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var ref []*falconItem
		if err := json.Unmarshal(body, &ref); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/item")
}

func BenchmarkAppendBatch(b *testing.B) {
	points := agentPoints(100)
	buf := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendBatch(buf[:0], points)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(points)), "ns/point")
}

func BenchmarkAppendBatchJSON(b *testing.B) {
	points := agentPoints(100)
	buf := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendBatchJSON(buf[:0], points)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(points)), "ns/point")
}

// escapedBody is pushBody with \u escapes (a BMP one and a surrogate pair)
// in every item's endpoint and tags: Decode's slow string path.
func escapedBody(n int) []byte {
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"endpoint":"h\u00f4te-%d.example","metric":"net.if.in.bytes","timestamp":1700000000,"step":60,"value":%d.5,"counterType":"COUNTER","tags":"iface=eth%d,site=caf\u00e9\ud83d\ude00"}`, 1, i*1000, i%4)
	}
	b.WriteByte(']')
	return []byte(b.String())
}

func BenchmarkDecodeEscaped(b *testing.B) { benchDecode(b, Decode, escapedBody(100), 100) }
