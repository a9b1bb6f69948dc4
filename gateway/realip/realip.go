// Package realip finds the real client IP of a request behind reverse
// proxies, safe by default, and turns it into a key for limits and bans.
//
// # Trust model
//
// Only the TCP peer is known for sure. X-Forwarded-For (or, with
// Options.UseForwarded, the RFC 7239 Forwarded header) is consulted only when
// the peer is a trusted proxy; an untrusted peer's headers are ignored
// entirely, so a client talking to the gateway directly cannot spoof its
// address. All header instances are read as one comma-separated list, in
// order, as RFC 9110 §5.3 prescribes (equivalent to nginx joining them).
//
// The list is walked right to left — the last entry of the last header
// instance first — skipping addresses inside Options.TrustedProxies:
//
//   - the first untrusted address is the client;
//   - if every entry is trusted, the leftmost one is returned (what nginx does
//     with real_ip_recursive on);
//   - an entry that is not an address (empty element, "unknown", "_hidden",
//     overlong, bad port, ...) stops the walk, and the last trusted hop seen is
//     returned: the entry just right of the junk, or the peer itself when the
//     junk is the rightmost entry. Nothing left of junk is believed, because
//     a trusted proxy never writes junk, so it was written by someone else.
//
// IPv4-mapped IPv6 addresses (::ffff:1.2.3.4) are unmapped everywhere — the
// peer, every list entry, and the trusted prefixes at New — before any
// comparison, and IPv6 zones are dropped. The result is therefore always
// either the (unmapped) peer or an address that appears in the input.
//
// # Keys
//
// Key and AppendKey aggregate a client address for rate limits and bans:
// IPv4 as /32, IPv6 as /Options.IPv6Prefix (default /64, the usual
// allocation to a single subscriber).
package realip

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// DefaultIPv6Prefix is the IPv6 aggregation used by Key when
// Options.IPv6Prefix is zero.
const DefaultIPv6Prefix = 64

// KeyLen is the number of bytes AppendKey appends.
const KeyLen = 17

// Options configures a Resolver.
type Options struct {
	// TrustedProxies are the networks whose connections may set the client
	// address through forwarding headers. Empty means trust nobody: the
	// client is always the TCP peer. IPv4-mapped IPv6 prefixes are converted
	// to IPv4 ones.
	TrustedProxies []netip.Prefix
	// IPv6Prefix is the prefix length IPv6 clients are aggregated to by Key
	// and AppendKey. Zero means DefaultIPv6Prefix; 1-128 otherwise.
	IPv6Prefix int
	// UseForwarded makes FromRequestCtx read the RFC 7239 Forwarded header
	// ("for=" parameters) instead of X-Forwarded-For. The two are never
	// mixed: when set, X-Forwarded-For is ignored even if Forwarded is absent,
	// because a proxy that writes Forwarded passes a client's X-Forwarded-For
	// through untouched.
	UseForwarded bool
}

// Resolver resolves client addresses. It is immutable after New and safe for
// concurrent use.
type Resolver struct {
	v4         []net4
	v6         []net6
	ipv6Bits   int
	v6mask     [2]uint64
	forwarded  bool
	trustedAll []netip.Prefix // normalized, for String/Trusted
}

type net4 struct{ addr, mask uint32 }

type net6 struct{ hi, lo, mhi, mlo uint64 }

// New validates opts and builds a Resolver.
func New(opts Options) (*Resolver, error) {
	bits := opts.IPv6Prefix
	if bits == 0 {
		bits = DefaultIPv6Prefix
	}
	if bits < 1 || bits > 128 {
		return nil, fmt.Errorf("cannot create realip resolver: IPv6Prefix %d out of range 1-128", opts.IPv6Prefix)
	}
	r := &Resolver{ipv6Bits: bits, forwarded: opts.UseForwarded}
	r.v6mask = mask128(bits)
	for _, p := range opts.TrustedProxies {
		if !p.IsValid() {
			return nil, fmt.Errorf("cannot create realip resolver: invalid trusted proxy prefix %v", p)
		}
		for _, q := range normalizePrefix(p) {
			r.addTrusted(q)
		}
	}
	return r, nil
}

// normalizePrefix masks p and maps IPv4-mapped IPv6 prefixes into IPv4 space.
// An IPv6 prefix short enough to contain all of ::ffff:0:0/96 (for example
// ::/0) also yields 0.0.0.0/0, since mapped peers are unmapped before lookup.
func normalizePrefix(p netip.Prefix) []netip.Prefix {
	p = p.Masked()
	a := p.Addr()
	if a.Is4() {
		return []netip.Prefix{p}
	}
	if a.Is4In6() && p.Bits() >= 96 {
		return []netip.Prefix{netip.PrefixFrom(a.Unmap(), p.Bits()-96).Masked()}
	}
	if p.Contains(netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff})) {
		return []netip.Prefix{p, netip.PrefixFrom(netip.IPv4Unspecified(), 0)}
	}
	return []netip.Prefix{p}
}

func (r *Resolver) addTrusted(p netip.Prefix) {
	for _, q := range r.trustedAll {
		if q == p {
			return
		}
	}
	r.trustedAll = append(r.trustedAll, p)
	if p.Addr().Is4() {
		m := uint32(0)
		if p.Bits() > 0 {
			m = ^uint32(0) << (32 - p.Bits())
		}
		r.v4 = append(r.v4, net4{addr: v4u32(p.Addr()) & m, mask: m})
		return
	}
	m := mask128(p.Bits())
	hi, lo := v6u64(p.Addr())
	r.v6 = append(r.v6, net6{hi: hi & m[0], lo: lo & m[1], mhi: m[0], mlo: m[1]})
}

// TrustedProxies returns the normalized trusted prefixes.
func (r *Resolver) TrustedProxies() []netip.Prefix {
	return append([]netip.Prefix(nil), r.trustedAll...)
}

// IPv6Prefix returns the effective IPv6 aggregation length.
func (r *Resolver) IPv6Prefix() int { return r.ipv6Bits }

// UseForwarded reports whether FromRequestCtx reads the Forwarded header.
func (r *Resolver) UseForwarded() bool { return r.forwarded }

func mask128(bits int) (m [2]uint64) {
	switch {
	case bits <= 0:
	case bits < 64:
		m[0] = ^uint64(0) << (64 - bits)
	case bits < 128:
		m[0] = ^uint64(0)
		m[1] = ^uint64(0) << (128 - bits)
	default:
		m[0], m[1] = ^uint64(0), ^uint64(0)
	}
	return m
}

func v4u32(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func v6u64(a netip.Addr) (hi, lo uint64) {
	b := a.As16()
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
}

// Trusted reports whether addr (unmapped first) is inside a trusted proxy
// prefix. It does not allocate.
func (r *Resolver) Trusted(addr netip.Addr) bool {
	addr = addr.Unmap()
	if addr.Is4() {
		a := v4u32(addr)
		for _, n := range r.v4 {
			if a&n.mask == n.addr {
				return true
			}
		}
		return false
	}
	if !addr.Is6() || len(r.v6) == 0 {
		return false
	}
	hi, lo := v6u64(addr)
	for _, n := range r.v6 {
		if hi&n.mhi == n.hi && lo&n.mlo == n.lo {
			return true
		}
	}
	return false
}

// ClientIP returns the client address for a connection from peer carrying
// the given X-Forwarded-For header values (all instances, in order, as
// returned by fasthttp's Header.PeekAll). See the package documentation for
// the exact rules. The result is unmapped and has no zone. It does not
// allocate and does not retain xff.
func (r *Resolver) ClientIP(peer netip.Addr, xff [][]byte) netip.Addr {
	return r.walk(peer, xff, parseEntry)
}

// ClientIPForwarded is ClientIP for RFC 7239 Forwarded header values: each
// comma-separated element is one hop and its "for=" parameter the address.
// The rules are those of ClientIP; an element is junk (and stops the walk)
// when it has no "for", more than one, a for value that is not an address
// ("unknown", obfuscated "_x" identifiers, obfuscated ports), a quoted
// string with a backslash escape or a missing closing quote, or a quoted
// string containing a comma — elements are split on every comma, so a
// crafted quote can never swallow the element a trusted proxy appended.
func (r *Resolver) ClientIPForwarded(peer netip.Addr, fwd [][]byte) netip.Addr {
	return r.walk(peer, fwd, parseForwardedElement)
}

func (r *Resolver) walk(peer netip.Addr, vals [][]byte, parse func([]byte) (netip.Addr, bool)) netip.Addr {
	peer = peer.Unmap().WithZone("")
	if len(vals) == 0 || !r.Trusted(peer) {
		return peer
	}
	return r.walkTrusted(peer, vals, parse)
}

// walkTrusted is walk from a peer known to be trusted (unmapped, no zone).
func (r *Resolver) walkTrusted(peer netip.Addr, vals [][]byte, parse func([]byte) (netip.Addr, bool)) netip.Addr {
	last := peer // last trusted hop seen
	for h := len(vals) - 1; h >= 0; h-- {
		v := vals[h]
		end := len(v)
		for {
			start := end
			for start > 0 && v[start-1] != ',' {
				start--
			}
			a, ok := parse(v[start:end])
			if !ok {
				return last
			}
			if !r.Trusted(a) {
				return a
			}
			last = a
			if start == 0 {
				break
			}
			end = start - 1
		}
	}
	return last
}

// Key returns the aggregation prefix of addr for limits and bans: the /32 of
// an IPv4 address (IPv4-mapped addresses included) and the /IPv6Prefix of an
// IPv6 address. The zero Addr yields the zero Prefix. The result is
// comparable and usable as a map key.
func (r *Resolver) Key(addr netip.Addr) netip.Prefix {
	addr = addr.Unmap().WithZone("")
	switch {
	case addr.Is4():
		return netip.PrefixFrom(addr, 32)
	case addr.Is6():
		p, _ := addr.Prefix(r.ipv6Bits)
		return p
	}
	return netip.Prefix{}
}

// AppendKey appends the KeyLen-byte binary form of Key(addr) to dst: the 16
// bytes of the masked address in IPv6 form (IPv4 as ::ffff:a.b.c.d) followed
// by one byte of prefix length (32 for IPv4). Keys of IPv4 and IPv6 clients
// never collide: an IPv6 client's masked address never has the ::ffff:0:0/96
// form, since such addresses are unmapped to IPv4 first. The zero Addr
// appends KeyLen zero bytes. It does not allocate when dst has room.
func (r *Resolver) AppendKey(dst []byte, addr netip.Addr) []byte {
	p := r.Key(addr)
	if !p.IsValid() {
		var z [KeyLen]byte
		return append(dst, z[:]...)
	}
	b := p.Addr().As16()
	dst = append(dst, b[:]...)
	return append(dst, byte(p.Bits()))
}
