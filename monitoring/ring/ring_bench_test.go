package ring

import (
	"fmt"
	"testing"
)

// BenchmarkGet is one key's lookup on Falcon's default ring: 8 shards x 500
// points.
func BenchmarkGet(b *testing.B) {
	var members []string
	for i := range 8 {
		members = append(members, fmt.Sprintf("shard-%d", i))
	}
	r, _ := New(DefaultReplicas, members)
	key := "host-17.example/net.if.in.bytes/env=prod,iface=eth0"
	b.ReportAllocs()
	for b.Loop() {
		_ = r.Index(key)
	}
}

// BenchmarkIndexBytesManyKeys is the lookup of the push path: a different
// series key each time (as a push of many series), 8 shards x 500 points.
func BenchmarkIndexBytesManyKeys(b *testing.B) {
	var members []string
	for i := range 8 {
		members = append(members, fmt.Sprintf("shard-%d", i))
	}
	r, _ := New(DefaultReplicas, members)
	keys := make([][]byte, 4096)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "host-%d/bench.load/env=bench,k=%d", i/10, i%10)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = r.IndexBytes(keys[i&4095])
		i++
	}
}
