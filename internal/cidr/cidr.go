// Package cidr is Wharf's one parser of CIDR lists (config, ACLs, bans,
// trusted proxies): CIDRs or bare IPs, IPv4 or IPv6, normalised so equal
// networks compare equal.
package cidr

import (
	"fmt"
	"net/netip"
	"strings"
)

// ParseList parses a list of CIDR prefixes and bare IP addresses, IPv4 or
// IPv6, as found in configuration and on the command line.
//
//   - a bare address becomes a host prefix (/32 or /128);
//   - host bits are cleared ("10.1.2.3/8" → "10.0.0.0/8");
//   - IPv4-mapped IPv6 is unmapped ("::ffff:10.0.0.0/104" → "10.0.0.0/8",
//     "::ffff:10.1.2.3" → "10.1.2.3/32"); a mapped prefix shorter than /96
//     is rejected, since it would cover more than IPv4;
//   - surrounding spaces are ignored; empty entries and zoned addresses
//     ("fe80::1%eth0") are rejected.
//
// The result has one prefix per entry, in input order. An error names the
// first bad entry and its index.
func ParseList(entries []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(entries))
	for i, e := range entries {
		p, err := Parse(e)
		if err != nil {
			return nil, fmt.Errorf("cannot parse entry %d: %w", i, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// Parse parses one entry of a list as ParseList does; the error quotes the entry.
func Parse(s string) (netip.Prefix, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return netip.Prefix{}, fmt.Errorf("%q: empty entry", s)
	}
	var p netip.Prefix
	if strings.IndexByte(t, '/') >= 0 {
		var err error
		p, err = netip.ParsePrefix(t)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("invalid CIDR %q: %w", s, err)
		}
	} else {
		a, err := netip.ParseAddr(t)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("invalid IP or CIDR %q: %w", s, err)
		}
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q: zoned addresses are not allowed", s)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	p, err := Normalize(p)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q: %w", s, err)
	}
	return p, nil
}

// Normalize unmaps an IPv4-mapped IPv6 prefix and clears host bits. It fails
// for an invalid prefix and for a mapped prefix shorter than /96.
func Normalize(p netip.Prefix) (netip.Prefix, error) {
	if !p.IsValid() {
		return netip.Prefix{}, fmt.Errorf("invalid prefix")
	}
	a := p.Addr()
	if a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("zoned addresses are not allowed")
	}
	if a.Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, fmt.Errorf("IPv4-mapped prefix /%d is shorter than /96", p.Bits())
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}
