package gateway

import "testing"

func BenchmarkRequestID(b *testing.B) {
	ids, _ := newRequestIDs()
	b.ReportAllocs()
	for b.Loop() {
		_ = ids.next()
	}
}
