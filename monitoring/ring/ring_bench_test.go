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
