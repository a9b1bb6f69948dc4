package cluster

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/gateway/ratelimit"
)

// BenchmarkClusterDecide measures one decision in Redis (a real local
// redis-server without fsync, one EVALSHA round trip). Keys stay within
// their limits (huge nodelay bursts), so every decision charges. The
// sub-benchmarks use a 1 s Timeout so that ns/op is always the Redis path,
// except "default-timeout" (5 ms, with Run recovering from fallbacks). Besides
// ns/op each reports the connections the pool had to dial during the run
// (dials), the decisions that failed in Redis (failed/op; a timeout closes a
// connection) and the decisions made locally (local/op): all should stay ~0 on
// an idle machine.
func BenchmarkClusterDecide(b *testing.B) {
	r := startRedis(b)
	reg := ratelimit.NewRegistry(nil)
	zone := func(name string) *ratelimit.Zone {
		return mustZone(b, reg, ratelimit.Limit{Name: name, Rate: 1000, Burst: ratelimit.MaxBurst, Delay: ratelimit.NoDelay})
	}
	perIP, perHost := zone("per_ip"), zone("per_host")
	ip, host := []byte{203, 0, 113, 7}, []byte("shop.example.com")

	bench := func(b *testing.B, n *node, parallel bool, s *Set, keys func(i int) [][]byte) {
		s.Decide(keys(0)) // load the script, open a connection
		dials := n.client.PoolStats().Misses
		errs := n.metric("wharf_ratelimit_cluster_redis_errors_total")
		locals := n.metric(`wharf_ratelimit_cluster_decisions_total{backend="local"}`)
		b.ReportAllocs()
		b.ResetTimer()
		if parallel {
			var seed atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				i := int(seed.Add(997))
				for pb.Next() {
					s.Decide(keys(i))
					i++
				}
			})
		} else {
			i := 0
			for b.Loop() {
				s.Decide(keys(i))
				i++
			}
		}
		b.StopTimer()
		failed, _ := strconv.ParseFloat(n.metric("wharf_ratelimit_cluster_redis_errors_total"), 64)
		before, _ := strconv.ParseFloat(errs, 64)
		local, _ := strconv.ParseFloat(n.metric(`wharf_ratelimit_cluster_decisions_total{backend="local"}`), 64)
		localBefore, _ := strconv.ParseFloat(locals, 64)
		b.ReportMetric(float64(n.client.PoolStats().Misses-dials), "dials")
		b.ReportMetric((failed-before)/float64(b.N), "failed/op")
		b.ReportMetric((local-localBefore)/float64(b.N), "local/op")
	}
	opts := Options{Timeout: time.Second}

	b.Run("one-zone", func(b *testing.B) {
		n := newNode(b, r.Addr, opts)
		s := mustSet(b, n.Cluster, perIP)
		keys := [][]byte{ip}
		bench(b, n, false, s, func(int) [][]byte { return keys })
	})
	b.Run("two-zones", func(b *testing.B) {
		n := newNode(b, r.Addr, opts)
		s := mustSet(b, n.Cluster, perHost, perIP)
		keys := [][]byte{host, ip}
		bench(b, n, false, s, func(int) [][]byte { return keys })
	})
	b.Run("parallel-many-keys", func(b *testing.B) {
		n := newNode(b, r.Addr, opts)
		s := mustSet(b, n.Cluster, perIP, perHost)
		const nk = 4096
		keys := make([][][]byte, nk)
		for i := range keys {
			keys[i] = [][]byte{[]byte("2001:db8::" + strconv.Itoa(i)), host}
		}
		bench(b, n, true, s, func(i int) [][]byte { return keys[i%nk] })
	})
	b.Run("default-timeout", func(b *testing.B) {
		n := newNode(b, r.Addr, Options{})
		n.run(b)
		s := mustSet(b, n.Cluster, perHost, perIP)
		keys := [][]byte{host, ip}
		bench(b, n, false, s, func(int) [][]byte { return keys })
	})
}
