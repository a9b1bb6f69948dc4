package realip

import (
	"net"
	"net/netip"

	"github.com/valyala/fasthttp"
)

// PeerAddr returns the IP address of a net.Addr as returned by
// fasthttp.RequestCtx.RemoteAddr, unmapped and without zone; the zero Addr
// when it is not a TCP or UDP address.
func PeerAddr(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort().Addr().Unmap().WithZone("")
	case *net.UDPAddr:
		return a.AddrPort().Addr().Unmap().WithZone("")
	}
	return netip.Addr{}
}

// Peer is what a request's connection says about its client, resolved once
// per request: the connection's peer, whether it is a trusted proxy, and the
// client address that follows from both and the forwarding headers.
type Peer struct {
	Addr    netip.Addr
	Trusted bool
	Client  netip.Addr
}

// Resolve resolves the peer of a fasthttp request and its client address
// (see FromRequestCtx). It keeps no reference to ctx and does not allocate.
func (r *Resolver) Resolve(ctx *fasthttp.RequestCtx) Peer {
	p := Peer{Addr: PeerAddr(ctx.RemoteAddr())}
	p.Trusted = r.Trusted(p.Addr)
	p.Client = p.Addr
	if !p.Trusted {
		return p
	}
	if r.forwarded {
		p.Client = r.walkTrusted(p.Addr, ctx.Request.Header.PeekAll(fasthttp.HeaderForwarded), parseForwardedElement)
	} else {
		p.Client = r.walkTrusted(p.Addr, ctx.Request.Header.PeekAll(fasthttp.HeaderXForwardedFor), parseEntry)
	}
	return p
}

// FromRequestCtx resolves the client address of a fasthttp request: the
// connection's peer plus all X-Forwarded-For instances, or all Forwarded
// instances when Options.UseForwarded is set. It keeps no reference to ctx.
func (r *Resolver) FromRequestCtx(ctx *fasthttp.RequestCtx) netip.Addr {
	peer := PeerAddr(ctx.RemoteAddr())
	if r.forwarded {
		return r.ClientIPForwarded(peer, ctx.Request.Header.PeekAll(fasthttp.HeaderForwarded))
	}
	return r.ClientIP(peer, ctx.Request.Header.PeekAll(fasthttp.HeaderXForwardedFor))
}
