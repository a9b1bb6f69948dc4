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

func BenchmarkDecode(b *testing.B) {
	body := pushBody(100)
	items := make([]Item, 0, 100)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if items, err = Decode(body, items[:0]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/item")
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
