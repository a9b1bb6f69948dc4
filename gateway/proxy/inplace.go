package proxy

import (
	"bytes"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway/realip"
	"github.com/wharfhq/wharf/gateway/route"
)

// inPlace is what forwarding the client request in place changed on it
// beyond its headers, so that restoreInPlace can give the gateway (its
// server's keep-alive decision, the access log) the request the client
// sent, and what planInPlace found in its headers.
type inPlace struct {
	on bool
	// proto is the client's protocol when it was not HTTP/1.1.
	proto []byte
	// close: the client asked for "Connection: close".
	close bool
	// https: the URI's scheme was https (a TLS listener).
	https bool
	// has* say whether the client sent the header the proxy sets (once).
	hasFor, hasProto, hasHost, hasID bool
}

// forwardInPlace reports whether the client request in ctx can be sent
// upstream as it is, its headers edited in place (see editInPlace): it has
// no body, is not pipelined, its request target goes up unchanged (an
// origin-form target, on a route that does not rewrite it), and no header
// of it is to be dropped (fasthttp deletes a header by moving the last one
// into its place, and the proxy keeps the client's order) nor sent more
// than once among those the proxy sets. Other requests are copied into the
// call's own request (copyRequestHeaders).
func (c *call) forwardInPlace(ctx *fasthttp.RequestCtx, in *Input, rw *route.Rewrite, hasBody, pipelined bool) bool {
	if hasBody || pipelined {
		return false
	}
	h := &ctx.Request.Header
	uri := h.RequestURI()
	if len(uri) == 0 || uri[0] != '/' {
		return false
	}
	if rw != nil && !(rw.Keeps() && keepTarget(ctx, rw, uri)) {
		return false
	}
	ip := &c.inPlace
	// "Connection: close" is a flag of the header (dropped by resetting
	// it, restored afterwards); any other Connection value is a header.
	ip.close = h.ConnectionClose()
	h.ResetConnectionClose()
	var xff, xfp, xfh, rid int
	ridSame := false
	for k, v := range h.All() {
		switch len(k) {
		case 4:
			if eqFold(k, fasthttp.HeaderHost) {
				continue
			}
		case 12:
			if in.RequestID != "" && eqFold(k, HeaderRequestID) {
				rid++
				ridSame = string(v) == in.RequestID
				continue
			}
		case 15:
			if eqFold(k, HeaderXForwardedFor) {
				xff++
				continue
			}
		case 16:
			if eqFold(k, HeaderXForwardedHost) {
				xfh++
				continue
			}
		case 17:
			if eqFold(k, HeaderXForwardedProto) {
				xfp++
				continue
			}
		}
		// No Connection header is left here (it is hop-by-hop), so no
		// header is named by one.
		if skipRequestHeader(k, in, false) {
			return c.noInPlace(h)
		}
	}
	if xff > 1 || xfp > 1 || xfh > 1 || rid > 1 || rid == 1 && !ridSame {
		return c.noInPlace(h)
	}
	ip.hasFor, ip.hasProto, ip.hasHost, ip.hasID = xff == 1, xfp == 1, xfh == 1, rid == 1
	return true
}

// noInPlace undoes what forwardInPlace changed on h before it said no.
func (c *call) noInPlace(h *fasthttp.RequestHeader) bool {
	if c.inPlace.close {
		h.SetConnectionClose()
		c.inPlace.close = false
	}
	return false
}

// editInPlace turns the client request in ctx, which forwardInPlace let
// through, into the upstream request by the rules of copyRequestHeaders,
// without copying it: X-Forwarded-For, -Proto, -Host and X-Request-Id are
// set (replaced where the client sent them); the Host is the lowercased one
// the router saw (the instance address, instead, when the client sent
// none); the protocol is HTTP/1.1 and the connection kept alive.
// restoreInPlace undoes what the gateway still reads afterwards.
func (c *call) editInPlace(ctx *fasthttp.RequestCtx, in *Input, instance string) {
	h := &ctx.Request.Header
	ip := &c.inPlace
	ip.on = true
	if !h.IsHTTP11() {
		ip.proto = append(ip.proto[:0], h.Protocol()...)
		h.SetProtocol("HTTP/1.1")
	}
	if ctx.IsTLS() {
		// HostClient refuses an https URI on a plain-HTTP pool.
		if u := ctx.Request.URI(); bytes.Equal(u.Scheme(), httpsScheme) {
			ip.https = true
			u.SetScheme("http")
		}
	}
	if host := ctx.Host(); len(host) == 0 {
		h.SetHost(instance)
	} else if !bytes.Equal(h.Host(), host) {
		h.SetHostBytes(host)
	}

	// The new values, built before the headers they are read from change.
	b := c.xForwardedFor(ctx, in, c.scratch[:0])
	nFor := len(b)
	proto := "http"
	if ctx.IsTLS() {
		proto = "https"
	}
	if in.TrustedPeer {
		switch v := h.Peek(HeaderXForwardedProto); {
		case eqFold(v, "https"):
			proto = "https"
		case eqFold(v, "http"):
			proto = "http"
		}
	}
	fwdHost := ctx.Host()
	if in.TrustedPeer {
		if v := h.Peek(HeaderXForwardedHost); len(v) > 0 {
			fwdHost = v
		}
	}
	b = append(b, fwdHost...)
	c.scratch = b
	fwdHost = b[nFor:]

	// A header the client sent (once) gets its new value where it is; the
	// others are added after the client's.
	switch {
	case ip.hasFor && nFor > 0:
		h.SetBytesV(HeaderXForwardedFor, b[:nFor])
	case nFor > 0:
		h.AddBytesV(HeaderXForwardedFor, b[:nFor])
	case ip.hasFor:
		h.Del(HeaderXForwardedFor) // no peer address: none at all
	}
	if ip.hasProto {
		h.Set(HeaderXForwardedProto, proto)
	} else {
		h.Add(HeaderXForwardedProto, proto)
	}
	switch {
	case ip.hasHost && len(fwdHost) > 0:
		h.SetBytesV(HeaderXForwardedHost, fwdHost)
	case len(fwdHost) > 0:
		h.AddBytesV(HeaderXForwardedHost, fwdHost)
	case ip.hasHost:
		h.Del(HeaderXForwardedHost)
	}
	if in.RequestID != "" && !ip.hasID {
		h.Add(HeaderRequestID, in.RequestID)
	}
	if !h.IsGet() && !h.IsHead() {
		// As fasthttp's Request.Write frames a bodiless request of
		// another method.
		h.SetContentLength(0)
	}
}

// restoreInPlace gives the request in ctx back the protocol, connection
// choice and URI scheme the client sent, after the exchange.
func (c *call) restoreInPlace(ctx *fasthttp.RequestCtx) {
	ip := &c.inPlace
	if !ip.on {
		return
	}
	h := &ctx.Request.Header
	if len(ip.proto) > 0 {
		h.SetProtocolBytes(ip.proto)
	}
	if ip.close {
		h.SetConnectionClose()
	}
	if ip.https {
		ctx.Request.URI().SetScheme("https")
	}
	ctx.Request.RemoveUserValue(callKey{})
	proto := ip.proto[:0]
	*ip = inPlace{proto: proto}
}

var httpsScheme = []byte("https")

// xForwardedFor appends the X-Forwarded-For value to b: a trusted peer's
// list plus the peer, else the peer.
func (c *call) xForwardedFor(ctx *fasthttp.RequestCtx, in *Input, b []byte) []byte {
	if in.TrustedPeer {
		for _, v := range ctx.Request.Header.PeekAll(HeaderXForwardedFor) {
			if v = bytes.Trim(v, " \t,"); len(v) == 0 {
				continue
			}
			if len(b) > 0 {
				b = append(b, ", "...)
			}
			b = append(b, v...)
		}
	}
	peer := in.Peer
	if !peer.IsValid() {
		peer = realip.PeerAddr(ctx.RemoteAddr())
	}
	if peer.IsValid() {
		if len(b) > 0 {
			b = append(b, ", "...)
		}
		b = peer.AppendTo(b)
	}
	return b
}
