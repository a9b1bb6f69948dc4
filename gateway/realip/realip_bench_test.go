package realip

import (
	"net/netip"
	"testing"
)

var sinkAddr netip.Addr

func benchResolver(b *testing.B) *Resolver {
	r, err := New(Options{TrustedProxies: prefixes("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "2001:db8:ffff::/48", "fd00::/8")})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

func BenchmarkClientIPUntrustedPeer(b *testing.B) {
	r := benchResolver(b)
	peer := netip.MustParseAddr("203.0.113.9")
	xff := hdrs("1.1.1.1, 2.2.2.2, 3.3.3.3")
	b.ReportAllocs()
	for b.Loop() {
		sinkAddr = r.ClientIP(peer, xff)
	}
}

func BenchmarkClientIPTrustedChain3(b *testing.B) {
	r := benchResolver(b)
	peer := netip.MustParseAddr("10.0.0.1")
	xff := hdrs("198.51.100.7, 10.1.1.1:8080, 192.168.3.4")
	b.ReportAllocs()
	for b.Loop() {
		sinkAddr = r.ClientIP(peer, xff)
	}
	if sinkAddr != netip.MustParseAddr("198.51.100.7") {
		b.Fatal(sinkAddr)
	}
}

func BenchmarkClientIPv6(b *testing.B) {
	r := benchResolver(b)
	peer := netip.MustParseAddr("2001:db8:ffff::1")
	xff := hdrs("[2001:db8:1234:5678::abcd]:443", "fd00::7")
	b.ReportAllocs()
	for b.Loop() {
		sinkAddr = r.ClientIP(peer, xff)
	}
	if sinkAddr != netip.MustParseAddr("2001:db8:1234:5678::abcd") {
		b.Fatal(sinkAddr)
	}
}

func BenchmarkClientIPForwarded(b *testing.B) {
	r := benchResolver(b)
	peer := netip.MustParseAddr("10.0.0.1")
	fwd := hdrs(`for=198.51.100.7;proto=https, for="[fd00::1]:80"`)
	b.ReportAllocs()
	for b.Loop() {
		sinkAddr = r.ClientIPForwarded(peer, fwd)
	}
}

func BenchmarkAppendKeyIPv6(b *testing.B) {
	r := benchResolver(b)
	a := netip.MustParseAddr("2001:db8:1234:5678::abcd")
	buf := make([]byte, 0, KeyLen)
	b.ReportAllocs()
	for b.Loop() {
		buf = r.AppendKey(buf[:0], a)
	}
}
