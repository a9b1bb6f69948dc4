// Package egress decides which addresses Wharf may connect to on behalf
// of a team: a team's webhook URL must not reach loopback, private,
// link-local (cloud metadata among them) or other special addresses, nor
// Wharf's own listeners, unless the operator allows a network. It is
// checked when a receiver is written (the URL's literal address or the
// addresses its name resolves to) and again at dial time on the address
// actually dialled, so a name that resolves elsewhere later (DNS
// rebinding) gains nothing.
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrRefused is wrapped by every refusal.
var ErrRefused = errors.New("address not allowed for receivers")

// Options configure a Policy.
type Options struct {
	// Allow are networks a receiver may reach although they are in a
	// blocked range (e.g. 10.0.0.0/8 for an in-house chat bridge, or
	// 127.0.0.0/8 in tests). Wharf's own listeners stay refused.
	Allow []netip.Prefix
	// Own are Wharf's own listeners (gateway, internal, nsqd, ...); an
	// unspecified address (0.0.0.0, ::) stands for every local address.
	Own []netip.AddrPort
	// LocalAddrs are this host's addresses, for Own listeners on an
	// unspecified address. Default: the interface addresses and loopback.
	LocalAddrs []netip.Addr
}

// Policy is an egress policy: its ranges are fixed by New, its own
// listeners may grow (AddOwn) as a process binds them. Build it with New;
// a nil Policy refuses the blocked ranges and allows the rest.
type Policy struct {
	blocked []netip.Prefix
	allow   []netip.Prefix
	local   map[netip.Addr]bool
	own     atomic.Pointer[ownSet]
}

// ownSet is an immutable snapshot of the own listeners.
type ownSet struct {
	exact map[netip.AddrPort]bool
	ports map[uint16]bool // own listeners on an unspecified address
}

// New returns the policy of opts.
func New(opts Options) *Policy {
	p := &Policy{blocked: blockedRanges(), allow: opts.Allow, local: map[netip.Addr]bool{}}
	p.own.Store(&ownSet{exact: map[netip.AddrPort]bool{}, ports: map[uint16]bool{}})
	p.AddOwn(opts.Own...)
	locals := opts.LocalAddrs
	if locals == nil {
		locals = interfaceAddrs()
	}
	for _, a := range locals {
		p.local[a.Unmap()] = true
	}
	return p
}

// AddOwn adds listeners of this process bound after New (a gateway on
// port 0); safe to call while the policy is in use.
func (p *Policy) AddOwn(aps ...netip.AddrPort) {
	for {
		cur := p.own.Load()
		next := &ownSet{exact: make(map[netip.AddrPort]bool, len(cur.exact)+len(aps)), ports: make(map[uint16]bool, len(cur.ports))}
		for k := range cur.exact {
			next.exact[k] = true
		}
		for k := range cur.ports {
			next.ports[k] = true
		}
		for _, ap := range aps {
			a := ap.Addr().Unmap()
			if a.IsUnspecified() {
				next.ports[ap.Port()] = true
			} else {
				next.exact[netip.AddrPortFrom(a, ap.Port())] = true
			}
		}
		if p.own.CompareAndSwap(cur, next) {
			return
		}
	}
}

// ParseAllow parses CIDRs or single addresses, naming the bad one.
func ParseAllow(ss []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range ss {
		if pf, err := netip.ParsePrefix(s); err == nil {
			out = append(out, pf.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("cannot parse %q: want a CIDR (10.0.0.0/8) or an address", s)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// CheckAddr returns nil when a receiver may connect to ap, else an error
// wrapping ErrRefused that says why (without the address).
func (p *Policy) CheckAddr(ap netip.AddrPort) error {
	a := ap.Addr().Unmap().WithZone("")
	if netip.MustParsePrefix("64:ff9b::/96").Contains(a) { // NAT64: the IPv4 inside
		b := a.As16()
		a = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	ranges := blockedRanges()
	if p != nil {
		ranges = p.blocked
		own := p.own.Load()
		if own.exact[netip.AddrPortFrom(a, ap.Port())] || (own.ports[ap.Port()] && (p.local[a] || a.IsLoopback())) {
			return fmt.Errorf("%w: it is one of Wharf's own listeners", ErrRefused)
		}
		for _, pf := range p.allow {
			if pf.Contains(a) {
				return nil
			}
		}
	}
	for _, pf := range ranges {
		if pf.Contains(a) {
			return fmt.Errorf("%w: %s addresses (%s) are reserved to the operator", ErrRefused, kind(a), pf)
		}
	}
	return nil
}

// blockedRanges are the ranges a team's receiver may not reach by default.
func blockedRanges() []netip.Prefix {
	return []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"),       // "this network", unspecified
		netip.MustParsePrefix("10.0.0.0/8"),      // private
		netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT (Alibaba's metadata 100.100.100.200)
		netip.MustParsePrefix("127.0.0.0/8"),     // loopback
		netip.MustParsePrefix("169.254.0.0/16"),  // link-local, cloud metadata 169.254.169.254
		netip.MustParsePrefix("172.16.0.0/12"),   // private
		netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
		netip.MustParsePrefix("192.168.0.0/16"),  // private
		netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
		netip.MustParsePrefix("224.0.0.0/4"),     // multicast
		netip.MustParsePrefix("240.0.0.0/4"),     // reserved, broadcast
		netip.MustParsePrefix("::/128"),          // unspecified
		netip.MustParsePrefix("::1/128"),         // loopback
		netip.MustParsePrefix("fc00::/7"),        // unique local (AWS metadata fd00:ec2::254)
		netip.MustParsePrefix("fe80::/10"),       // link-local
		netip.MustParsePrefix("ff00::/8"),        // multicast
		netip.MustParsePrefix("64:ff9b::/96"),    // NAT64: checked as the IPv4 inside
		netip.MustParsePrefix("2001:db8::/32"),   // documentation
		netip.MustParsePrefix("100::/64"),        // discard
		netip.MustParsePrefix("2002::/16"),       // 6to4: may embed any IPv4
		netip.MustParsePrefix("2001::/32"),       // Teredo: may embed any IPv4
		netip.MustParsePrefix("::ffff:0:0/96"),   // IPv4-mapped: unmapped before the check
		netip.MustParsePrefix("::ffff:0:0:0/96"), // IPv4-translated
	}
}

func kind(a netip.Addr) string {
	switch {
	case a.IsLoopback():
		return "loopback"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.IsPrivate():
		return "private"
	case a.IsMulticast():
		return "multicast"
	case a.IsUnspecified():
		return "unspecified"
	}
	return "special-purpose"
}

// Control is a net.Dialer Control function: it refuses a connection to
// an address the policy does not allow, after name resolution.
func (p *Policy) Control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse the dialled address", ErrRefused)
	}
	return p.CheckAddr(ap)
}

// Resolver looks names up; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// CheckURL checks the host of an http(s) URL: its literal address, or
// every address its name resolves to with r (nil: net.DefaultResolver).
// A name that does not resolve now is accepted: the dial-time check
// still applies.
func (p *Policy) CheckURL(ctx context.Context, raw string, r Resolver) error {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return fmt.Errorf("%w: no host", ErrRefused)
	}
	port := 80
	if u.Scheme == "https" {
		port = 443
	}
	if s := u.Port(); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65536 {
			port = n
		}
	}
	if a, err := netip.ParseAddr(u.Hostname()); err == nil {
		return p.CheckAddr(netip.AddrPortFrom(a, uint16(port)))
	}
	if r == nil {
		r = net.DefaultResolver
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	addrs, err := r.LookupNetIP(ctx, "ip", u.Hostname())
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if err := p.CheckAddr(netip.AddrPortFrom(a, uint16(port))); err != nil {
			return fmt.Errorf("%w (the name resolves to it)", err)
		}
	}
	return nil
}

func interfaceAddrs() []netip.Addr {
	out := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}
	as, err := net.InterfaceAddrs()
	if err != nil {
		return out
	}
	for _, a := range as {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out
}
