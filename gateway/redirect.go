package gateway

import (
	"bytes"
	"net/netip"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/httperr"
)

// acmeChallenge is the path prefix of ACME HTTP-01 challenges (RFC 8555
// 8.3), which must be answered over plain HTTP.
const acmeChallenge = "/.well-known/acme-challenge/"

// handleRedirect serves the plain listener when gateway.tls.redirect_http
// is on: 308 to the same host, path and query over https (308 keeps the
// method and body), except ACME challenges, which are routed as usual.
func (g *Gateway) handleRedirect(ctx *fasthttp.RequestCtx) {
	if bytes.HasPrefix(ctx.Path(), []byte(acmeChallenge)) {
		g.handle(ctx)
		return
	}
	start := time.Now()
	rid := g.ids.next()
	ctx.Response.Header.Set(HeaderRequestID, rid)
	if ctx.Request.Header.ContentLength() != 0 {
		// The body is not read: close, so it is never taken for a
		// request, with lingering, so the client reads the 308 first.
		ctx.SetConnectionClose()
		markLinger(ctx.Conn())
	}
	uri, host := ctx.Request.Header.RequestURI(), ctx.Request.Header.Host()
	if len(uri) == 0 || uri[0] != '/' {
		host = ctx.Host() // the authority of an absolute-form URI wins
		// absolute-form or "*": the path and query of the parsed URI.
		u := ctx.URI()
		uri = append([]byte(nil), u.PathOriginal()...)
		if len(uri) == 0 {
			uri = append(uri, '/')
		}
		if q := u.QueryString(); len(q) > 0 {
			uri = append(append(uri, '?'), q...)
		}
	}
	loc, ok := appendHTTPSLocation(nil, host, uri, g.tls.port)
	if !ok {
		he := httperr.BadRequest("cannot redirect to https: the Host header %q is not a host name or IP address with an optional port", clip(host, 64))
		httperr.Write(ctx, nil, rid, he)
		g.m.observe(he.Status, time.Since(start).Seconds())
		return
	}
	ctx.Response.Header.SetBytesV(fasthttp.HeaderLocation, loc)
	ctx.SetStatusCode(fasthttp.StatusPermanentRedirect)
	g.m.observe(fasthttp.StatusPermanentRedirect, time.Since(start).Seconds())
}

// appendHTTPSLocation appends "https://host[:port]uri" to dst, where host
// is the Host header without its port. It reports false when the Host
// header is not a DNS name, IPv4 address or bracketed IPv6 address with an
// optional numeric port, so a redirect never points at an authority the
// header smuggled in ("evil/x", "user@evil").
func appendHTTPSLocation(dst, hostHeader, uri []byte, port int) ([]byte, bool) {
	host, ok := redirectHost(hostHeader)
	if !ok {
		return dst, false
	}
	dst = append(dst, "https://"...)
	dst = append(dst, host...)
	if port > 0 {
		dst = strconv.AppendInt(append(dst, ':'), int64(port), 10)
	}
	return append(dst, uri...), true
}

// redirectHost returns the host part of a Host header value.
func redirectHost(h []byte) ([]byte, bool) {
	if len(h) == 0 || len(h) > 255+8 {
		return nil, false
	}
	host, port := h, []byte(nil)
	if h[0] == '[' {
		end := bytes.IndexByte(h, ']')
		if end < 0 {
			return nil, false
		}
		host, port = h[:end+1], h[end+1:]
		// An IPv6 literal without a zone (RFC 3986 3.2.2).
		if a, err := netip.ParseAddr(string(host[1:end])); err != nil || !a.Is6() || a.Zone() != "" {
			return nil, false
		}
	} else {
		if i := bytes.IndexByte(h, ':'); i >= 0 {
			host, port = h[:i], h[i:]
		}
		if len(host) == 0 {
			return nil, false
		}
		for _, c := range host {
			if !(isHex(c) || 'g' <= c|0x20 && c|0x20 <= 'z' || c == '-' || c == '.' || c == '_') {
				return nil, false
			}
		}
	}
	if len(port) > 0 {
		if port[0] != ':' || len(port) > 6 {
			return nil, false
		}
		for _, c := range port[1:] {
			if c < '0' || c > '9' {
				return nil, false
			}
		}
	}
	return host, true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'f'
}

// clip shortens untrusted bytes for an error message.
func clip(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
