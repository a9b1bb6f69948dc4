package realip

import (
	"net"
	"net/netip"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestResolveAgreesWithItsParts: Resolve gives the peer, its trust and the
// client that PeerAddr, Trusted and FromRequestCtx give separately, for
// trusted and untrusted peers, IPv4, IPv6 and IPv4-mapped peers, both
// header kinds, spoofed and junk headers.
func TestResolveAgreesWithItsParts(t *testing.T) {
	t.Parallel()
	for _, useFwd := range []bool{false, true} {
		r := mustNew(t, Options{TrustedProxies: prefixes("10.0.0.0/8", "2001:db8:1::/48"), UseForwarded: useFwd})
		for _, peer := range []net.IP{net.IPv4(10, 1, 2, 3), net.IPv4(203, 0, 113, 9), net.ParseIP("2001:db8:1::7"), net.ParseIP("2001:db8:2::7"), net.ParseIP("::ffff:10.9.9.9")} {
			for _, hdr := range [][]string{nil, {"198.51.100.1"}, {"198.51.100.1, 10.0.0.5"}, {"for=198.51.100.2"}, {"junk"}, {"198.51.100.1", "10.0.0.6"}} {
				var ctx fasthttp.RequestCtx
				var req fasthttp.Request
				for _, h := range hdr {
					req.Header.Add(fasthttp.HeaderXForwardedFor, h)
					req.Header.Add(fasthttp.HeaderForwarded, h)
				}
				ctx.Init(&req, &net.TCPAddr{IP: peer, Port: 1234}, nil)
				got := r.Resolve(&ctx)
				want := Peer{Addr: PeerAddr(ctx.RemoteAddr())}
				want.Trusted = r.Trusted(want.Addr)
				want.Client = r.FromRequestCtx(&ctx)
				if got != want {
					t.Errorf("forwarded=%v peer %s headers %q: Resolve %+v, parts %+v", useFwd, peer, hdr, got, want)
				}
			}
		}
	}
}

func TestResolveDoesNotAllocate(t *testing.T) {
	r := mustNew(t, Options{TrustedProxies: prefixes("10.0.0.0/8")})
	var ctx fasthttp.RequestCtx
	var req fasthttp.Request
	req.Header.Set(fasthttp.HeaderXForwardedFor, "198.51.100.1, 10.0.0.5")
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 1234}, nil)
	var sink netip.Addr
	if n := testing.AllocsPerRun(100, func() { sink = r.Resolve(&ctx).Client }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
	if sink != netip.MustParseAddr("198.51.100.1") {
		t.Fatalf("client %s", sink)
	}
}
