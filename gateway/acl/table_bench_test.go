package acl

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// benchTable loads n random prefixes, half IPv4 (/8–/32) and half IPv6
// (/16–/128), into the deny list, and returns addresses inside some of them
// (hits) and addresses outside all of them (misses).
func benchTable(b *testing.B, n int) (tb *Table, hits, misses []netip.Addr) {
	r := rand.New(rand.NewPCG(1, 2))
	randAddr := func(v6 bool) netip.Addr {
		if v6 {
			var a [16]byte
			for i := range a {
				a[i] = byte(r.UintN(256))
			}
			a[0] = 0x20 | a[0]&0x0f // global unicast-ish 2000::/4
			return netip.AddrFrom16(a)
		}
		var a [4]byte
		for i := range a {
			a[i] = byte(r.UintN(256))
		}
		return netip.AddrFrom4(a)
	}
	pfxs := make([]netip.Prefix, 0, n)
	for i := range n {
		v6 := i%2 == 1
		var bits int
		if v6 {
			bits = 16 + r.IntN(113)
		} else {
			bits = 8 + r.IntN(25)
			if bits < 16 && r.IntN(8) != 0 { // keep most of IPv4 free for misses
				bits += 8
			}
		}
		p, _ := randAddr(v6).Prefix(bits)
		pfxs = append(pfxs, p)
	}
	tb = NewTable(nil, pfxs)
	for len(hits) < 1024 {
		p := pfxs[r.IntN(len(pfxs))]
		a := p.Addr()
		if tb.Check(a) == Denied {
			hits = append(hits, a)
		}
	}
	for len(misses) < 1024 {
		a := randAddr(len(misses)%2 == 1)
		if tb.Check(a) == Allowed {
			misses = append(misses, a)
		}
	}
	return tb, hits, misses
}

func BenchmarkTableCheck(b *testing.B) {
	tb, hits, misses := benchTable(b, 100000)
	var allow []netip.Prefix
	for _, a := range hits[:512] {
		allow = append(allow, netip.PrefixFrom(a, a.BitLen()))
	}
	allowTb := NewTable(allow, nil)
	b.Run("deny-hit", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if tb.Check(hits[i&1023]) != Denied {
				b.Fatal("miss")
			}
			i++
		}
	})
	b.Run("deny-miss", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if tb.Check(misses[i&1023]) != Allowed {
				b.Fatal("hit")
			}
			i++
		}
	})
	b.Run("evaluate-global+route", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			_ = Evaluate(tb, allowTb, misses[i&1023])
			i++
		}
	})
}
