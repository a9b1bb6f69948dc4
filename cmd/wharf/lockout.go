package main

import (
	"net"
	"net/netip"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway/realip"
	"github.com/wharfhq/wharf/internal/cidr"
)

// lockoutGuard is what the admin API needs to refuse changes that lock out
// the caller: the caller's address as the gateway sees it, and the
// gateway's own listen address (besides loopback, always guarded).
type lockoutGuard struct {
	clientIP  func(*fasthttp.RequestCtx) netip.Addr
	protected []netip.Addr
}

func (b *base) lockoutGuard() (lockoutGuard, error) {
	var trusted []netip.Prefix
	for _, c := range b.opts.Gateway.TrustedProxies {
		p, err := cidr.Parse(c)
		if err != nil {
			return lockoutGuard{}, err
		}
		trusted = append(trusted, p)
	}
	ip, err := realip.New(realip.Options{TrustedProxies: trusted, IPv6Prefix: b.opts.Gateway.IPv6Prefix})
	if err != nil {
		return lockoutGuard{}, err
	}
	g := lockoutGuard{clientIP: ip.FromRequestCtx}
	if host, _, err := net.SplitHostPort(b.opts.Gateway.Listen); err == nil {
		if a, err := netip.ParseAddr(host); err == nil && !a.IsUnspecified() {
			g.protected = append(g.protected, a.Unmap())
		}
	}
	return g, nil
}
