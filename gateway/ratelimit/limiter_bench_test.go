package ratelimit

import (
	"strconv"
	"sync/atomic"
	"testing"
)

// benchLimiter: 1r/s per key with a huge nodelay burst, and a clock that
// advances 1 ms per 1024 decisions, so keys stay live (never idle-expired)
// and every decision takes the full existing-key charge path.
func benchLimiter(b *testing.B, n int) *Limiter {
	var calls atomic.Int64
	limits := make([]Limit, n)
	for i := range limits {
		limits[i] = Limit{Rate: 1000, Burst: MaxBurst, Delay: NoDelay}
	}
	l, err := New(limits, Options{Clock: func() int64 { return calls.Add(1) >> 10 }})
	if err != nil {
		b.Fatal(err)
	}
	return l
}

func BenchmarkDecide(b *testing.B) {
	b.Run("single-key", func(b *testing.B) {
		l := benchLimiter(b, 1)
		keys := [][]byte{[]byte("203.0.113.7")}
		b.ReportAllocs()
		for b.Loop() {
			l.Decide(keys)
		}
	})
	b.Run("single-key-default-clock", func(b *testing.B) {
		l, err := New([]Limit{{Rate: 1000, Burst: MaxBurst, Delay: NoDelay}}, Options{})
		if err != nil {
			b.Fatal(err)
		}
		keys := [][]byte{[]byte("203.0.113.7")}
		b.ReportAllocs()
		for b.Loop() {
			l.Decide(keys)
		}
	})
	b.Run("reject-two-limits", func(b *testing.B) {
		l, err := New([]Limit{{Rate: 1000, Burst: 100}, {Rate: 1000}}, Options{Clock: func() int64 { return 0 }})
		if err != nil {
			b.Fatal(err)
		}
		keys := [][]byte{[]byte("203.0.113.7"), []byte("shop.example.com")}
		l.Decide(keys)
		b.ReportAllocs()
		for b.Loop() {
			l.Decide(keys)
		}
	})
	b.Run("two-limits", func(b *testing.B) {
		l := benchLimiter(b, 2)
		keys := [][]byte{[]byte("203.0.113.7"), []byte("shop.example.com")}
		b.ReportAllocs()
		for b.Loop() {
			l.Decide(keys)
		}
	})
	b.Run("many-keys", func(b *testing.B) {
		const n = 100000
		l := benchLimiter(b, 1)
		keys := make([][][]byte, n)
		for i := range keys {
			keys[i] = [][]byte{[]byte("10." + strconv.Itoa(i>>16) + "." + strconv.Itoa(i>>8&255) + "." + strconv.Itoa(i&255))}
			l.Decide(keys[i])
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			l.Decide(keys[i])
			if i++; i == n {
				i = 0
			}
		}
	})
	b.Run("parallel-many-keys", func(b *testing.B) {
		const n = 4096
		l := benchLimiter(b, 1)
		keys := make([][][]byte, n)
		for i := range keys {
			keys[i] = [][]byte{[]byte("2001:db8::" + strconv.Itoa(i))}
			l.Decide(keys[i])
		}
		var seed atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := int(seed.Add(997))
			for pb.Next() {
				l.Decide(keys[i%n])
				i++
			}
		})
	})
	b.Run("parallel-single-key", func(b *testing.B) {
		l := benchLimiter(b, 1)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			keys := [][]byte{[]byte("203.0.113.7")}
			for pb.Next() {
				l.Decide(keys)
			}
		})
	})
}

// BenchmarkSetDecide decides through Sets of shared zones listed in an order
// other than their lock (table id) order, on existing keys.
func BenchmarkSetDecide(b *testing.B) {
	var calls atomic.Int64
	r := NewRegistry(func() int64 { return calls.Add(1) >> 10 })
	zone := func(name string) *Zone {
		z, err := NewZone(Limit{Name: name, Rate: 1000, Burst: MaxBurst, Delay: NoDelay}, Options{Registry: r})
		if err != nil {
			b.Fatal(err)
		}
		return z
	}
	perIP, perHost, global := zone("per_ip"), zone("per_host"), zone("global")
	set := func(zs ...*Zone) *Set {
		s, err := NewSet(zs...)
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	ip, host := []byte("203.0.113.7"), []byte("shop.example.com")
	b.Run("one-zone", func(b *testing.B) {
		s := set(perIP)
		keys := [][]byte{ip}
		b.ReportAllocs()
		for b.Loop() {
			s.Decide(keys)
		}
	})
	b.Run("two-zones-reversed", func(b *testing.B) {
		s := set(perHost, perIP)
		keys := [][]byte{host, ip}
		b.ReportAllocs()
		for b.Loop() {
			s.Decide(keys)
		}
	})
	b.Run("three-zones", func(b *testing.B) {
		s := set(global, perIP, perHost)
		keys := [][]byte{[]byte("all"), ip, host}
		b.ReportAllocs()
		for b.Loop() {
			s.Decide(keys)
		}
	})
	b.Run("parallel-two-routes-shared-zone", func(b *testing.B) {
		routeA, routeB := set(perIP, perHost), set(perHost, perIP)
		const n = 4096
		keys := make([][][]byte, n)
		for i := range keys {
			keys[i] = [][]byte{[]byte("2001:db8::" + strconv.Itoa(i)), host}
			routeA.Decide(keys[i])
		}
		var seed atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := int(seed.Add(997))
			for pb.Next() {
				k := keys[i%n]
				if i&1 == 0 {
					routeA.Decide(k)
				} else {
					routeB.Decide([][]byte{k[1], k[0]})
				}
				i++
			}
		})
	})
}
