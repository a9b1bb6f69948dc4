package labels

import "testing"

func BenchmarkMatchersMatch(b *testing.B) {
	ms, err := ParseMatchers(`team="shop",priority=~"[0-2]",endpoint!~"canary-.*"`)
	if err != nil {
		b.Fatal(err)
	}
	set := Set{"alertname": "cpu", "team": "shop", "priority": "1", "endpoint": "web-12", "metric": "cpu.busy"}
	b.ReportAllocs()
	for b.Loop() {
		if !ms.Matches(set) {
			b.Fatal("no match")
		}
	}
}
