package realip

import (
	"bytes"
	"net/netip"
	"testing"
)

// FuzzClientIP checks that ClientIP never panics and always returns either
// the (unmapped, zoneless) peer or an address that is present in the input,
// that Forwarded parsing holds the same property, and that the byte parser
// agrees with netip.ParseAddr.
func FuzzClientIP(f *testing.F) {
	for _, s := range []string{
		"1.2.3.4", "1.2.3.4:5678, 10.0.0.2", "[2001:db8::1]:443", "fe80::1%eth0",
		"::ffff:1.2.3.4", "unknown, 10.0.0.1", "_hidden", ",,", " ", "for=1.2.3.4;proto=http",
		`for="[2001:db8::1]:80", for=10.0.0.3`, "::ffff:10.0.0.1, 10.0.0.2",
	} {
		f.Add([]byte("10.0.0.1"), []byte(s), []byte("10.0.0.9"))
	}
	f.Add([]byte("::ffff:10.0.0.1"), []byte("2001:db8::1, 10.0.0.5"), []byte(""))
	f.Add([]byte("203.0.113.1"), []byte("1.1.1.1"), []byte("2.2.2.2"))
	r, err := New(Options{TrustedProxies: prefixes("10.0.0.0/8", "2001:db8:ffff::/48", "::ffff:192.168.0.0/112")})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, peerText, h1, h2 []byte) {
		peer, err := netip.ParseAddr(string(peerText))
		if err != nil {
			peer = netip.AddrFrom4([4]byte{10, 0, 0, 1})
		}
		cleanPeer := peer.Unmap().WithZone("")
		in := [][]byte{h1, h2}

		check := func(kind string, got netip.Addr) {
			if got == cleanPeer {
				return
			}
			if got.Is4In6() || got.Zone() != "" || !got.IsValid() {
				t.Fatalf("%s: result %v not normalized", kind, got)
			}
			if !presentIn(got, in, kind == "forwarded") {
				t.Fatalf("%s: result %v is neither peer %v nor in input %q", kind, got, peer, in)
			}
		}
		check("xff", r.ClientIP(peer, in))
		check("forwarded", r.ClientIPForwarded(peer, in))

		// Differential: parseAddr agrees with netip.ParseAddr.
		for _, b := range [][]byte{h1, h2, peerText} {
			got, ok := parseAddr(b)
			want, err := netip.ParseAddr(string(b))
			if ok != (err == nil) {
				t.Fatalf("parseAddr(%q) ok=%v, netip err=%v", b, ok, err)
			}
			if ok && got != want.WithZone("").Unmap() {
				t.Fatalf("parseAddr(%q) = %v, netip %v", b, got, want)
			}
		}

		// Keys never panic and are stable.
		k1 := r.AppendKey(nil, cleanPeer)
		k2 := r.AppendKey(nil, peer)
		if len(k1) != KeyLen || !bytes.Equal(k1, k2) {
			t.Fatalf("AppendKey(%v) = %x vs %x", peer, k1, k2)
		}
	})
}

// presentIn reports whether a appears textually (in any accepted spelling)
// in one of the comma-separated entries of vals.
func presentIn(a netip.Addr, vals [][]byte, forwarded bool) bool {
	sep := func(r rune) bool { return r == ',' }
	if forwarded {
		sep = func(r rune) bool { return r == ',' || r == ';' || r == '"' || r == '=' }
	}
	for _, v := range vals {
		for _, part := range bytes.FieldsFunc(v, sep) {
			if p, ok := parseEntry(part); ok && p == a {
				return true
			}
		}
	}
	return false
}
