package acl

import (
	"net/netip"
	"testing"
	"time"
)

// BenchmarkBanned looks up addresses in a BanSet holding 100,000 bans (the
// prefixes of BenchmarkTableCheck), built the way Run builds its snapshot.
func BenchmarkBanned(b *testing.B) {
	tb, hits, misses := benchTable(b, 100000)
	s, err := NewBanSet(BanSetOptions{Now: benchNow}, openBuntB(b))
	if err != nil {
		b.Fatal(err)
	}
	global := new(banTable)
	exp := time.Now().Add(time.Hour)
	for p := range tb.deny.All() {
		global.Insert(p, newEntry(Ban{Prefix: p, Reason: "bench", ExpiresAt: exp}))
	}
	s.snap.Store(&banSnap{global: global, routes: map[string]*banTable{}, n: global.Size()})
	real, err := NewBanSet(BanSetOptions{}, openBuntB(b))
	if err != nil {
		b.Fatal(err)
	}
	real.snap.Store(s.snap.Load())
	run := func(name string, s *BanSet, addrs []netip.Addr, want bool) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, ok := s.Banned(addrs[i&1023]); ok != want {
					b.Fatal("wrong result")
				}
				i++
			}
		})
	}
	run("hit", s, hits, true)
	run("miss", s, misses, false)
	run("hit-realclock", real, hits, true)
}

// benchNow stands in for time.Now, whose cost (a vDSO call, ~20–60 ns) is
// the environment's, not the lookup's; BenchmarkBanned/hit-realclock keeps it.
var benchStart = time.Now()

func benchNow() time.Time { return benchStart }
