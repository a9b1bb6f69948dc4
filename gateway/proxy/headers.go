package proxy

import (
	"bytes"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway/route"
)

// Header names the proxy sets or treats specially.
const (
	HeaderRequestID       = "X-Request-Id"
	HeaderXForwardedFor   = "X-Forwarded-For"
	HeaderXForwardedProto = "X-Forwarded-Proto"
	HeaderXForwardedHost  = "X-Forwarded-Host"
	// HeaderXForwardedPrefix names the path prefix a rewriting route took
	// off (Traefik, Spring): the app builds public links with it.
	HeaderXForwardedPrefix = "X-Forwarded-Prefix"
)

// hopByHop reports whether name is a hop-by-hop header (RFC 9110 7.6.1 plus
// the de-facto Keep-Alive and Proxy-Connection), compared case-insensitively.
func hopByHop(name []byte) bool {
	switch len(name) {
	case 2:
		return eqFold(name, "TE")
	case 7:
		return eqFold(name, "Trailer") || eqFold(name, "Upgrade")
	case 10:
		return eqFold(name, "Connection") || eqFold(name, "Keep-Alive")
	case 16:
		return eqFold(name, "Proxy-Connection")
	case 17:
		return eqFold(name, "Transfer-Encoding")
	case 18:
		return eqFold(name, "Proxy-Authenticate")
	case 19:
		return eqFold(name, "Proxy-Authorization")
	}
	return false
}

// eqFold is an allocation-free ASCII case-insensitive comparison of a
// header name (or token) b with s in which '_' also matches '-': CGI-style
// upstreams (PHP, WSGI, Rack, nginx's underscores_in_headers) read
// "X_Real_IP" and "X-Real-IP" as the same variable, so a header the proxy
// drops or sets itself must not get through spelled with underscores.
func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if !eqNameByte(b[i], s[i]) {
			return false
		}
	}
	return true
}

// eqFoldBytes is eqFold of two byte slices.
func eqFoldBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !eqNameByte(a[i], b[i]) {
			return false
		}
	}
	return true
}

// eqNameByte compares two bytes of header names: ASCII letters without
// case, '_' and '-' alike.
func eqNameByte(x, y byte) bool {
	if x == y {
		return true
	}
	if x|0x20 == y|0x20 && x|0x20 >= 'a' && x|0x20 <= 'z' {
		return true
	}
	return (x == '_' || x == '-') && (y == '_' || y == '-')
}

// appendConnectionTokens appends the comma-separated tokens of one
// Connection header value to dst, trimmed of optional whitespace, skipping
// empty elements. The tokens alias v.
func appendConnectionTokens(dst [][]byte, v []byte) [][]byte {
	for len(v) > 0 {
		var tok []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			tok, v = v[:i], v[i+1:]
		} else {
			tok, v = v, nil
		}
		tok = bytes.Trim(tok, " \t")
		if len(tok) > 0 {
			dst = append(dst, tok)
		}
	}
	return dst
}

// named reports whether name is one of the Connection tokens.
func named(tokens [][]byte, name []byte) bool {
	for _, t := range tokens {
		if eqFoldBytes(t, name) {
			return true
		}
	}
	return false
}

// requestConnectionTokens collects the tokens of every Connection header instance
// of the request header h.
func requestConnectionTokens(dst [][]byte, h *fasthttp.RequestHeader) [][]byte {
	for k, v := range h.All() {
		if eqFold(k, fasthttp.HeaderConnection) {
			dst = appendConnectionTokens(dst, v)
		}
	}
	return dst
}

// responseConnectionTokens is requestConnectionTokens for a response.
func responseConnectionTokens(dst [][]byte, h *fasthttp.ResponseHeader) [][]byte {
	for k, v := range h.All() {
		if eqFold(k, fasthttp.HeaderConnection) {
			dst = appendConnectionTokens(dst, v)
		}
	}
	return dst
}

// skipRequestHeader reports whether an incoming request header must not be
// copied to the upstream request: hop-by-hop headers, framing the proxy
// redoes, headers the proxy sets itself (X-Forwarded-Prefix when the route
// rewrites), and, from an untrusted peer, X-Forwarded-Prefix and every
// header that claims a client address (see clientIPHeader).
func skipRequestHeader(k []byte, in *Input, rewrites bool) bool {
	if hopByHop(k) {
		return true
	}
	switch len(k) {
	case 4:
		return eqFold(k, fasthttp.HeaderHost)
	case 6:
		// The gateway's server already answered "Expect: 100-continue".
		return eqFold(k, fasthttp.HeaderExpect)
	case 12:
		return in.RequestID != "" && eqFold(k, HeaderRequestID)
	case 14:
		if eqFold(k, fasthttp.HeaderContentLength) {
			return true
		}
	case 15:
		return eqFold(k, HeaderXForwardedFor)
	case 16:
		if eqFold(k, HeaderXForwardedHost) {
			return true
		}
	case 17:
		return eqFold(k, HeaderXForwardedProto)
	case 18:
		if eqFold(k, HeaderXForwardedPrefix) {
			return rewrites || !in.TrustedPeer
		}
	}
	return !in.TrustedPeer && clientIPHeader(k)
}

// clientIPHeader reports whether name is one of the headers that proxies and
// CDNs use to pass on a client's address or the port it used (Forwarded,
// X-Real-IP, the vendor ones and the less common variants). Only a trusted
// peer may send them: from anyone else they are dropped, so an upstream that
// believes one cannot be lied to. X-Forwarded-For, -Proto and -Host are
// rewritten instead (copyRequestHeaders).
func clientIPHeader(name []byte) bool {
	switch len(name) {
	case 9:
		return eqFold(name, fasthttp.HeaderForwarded) || eqFold(name, "X-Real-IP") || eqFold(name, "Client-IP")
	case 11:
		return eqFold(name, "X-Client-IP") || eqFold(name, "X-Forwarded") || eqFold(name, "X-Remote-IP")
	case 13:
		return eqFold(name, "Forwarded-For") || eqFold(name, "X-Remote-Addr")
	case 14:
		return eqFold(name, "True-Client-IP")
	case 16:
		return eqFold(name, "CF-Connecting-IP") || eqFold(name, "Fastly-Client-IP") ||
			eqFold(name, "X-Originating-IP") || eqFold(name, "X-Forwarded-Port")
	case 19:
		return eqFold(name, "X-Cluster-Client-IP")
	case 24:
		return eqFold(name, "X-Original-Forwarded-For")
	}
	return false
}

// copyRequestHeaders fills dst, the upstream request header, from the
// client request in ctx: method, origin-form request URI (its path mapped by
// rw, or as sent when rw is nil), the original Host, every end-to-end header
// in its original order, and the X-Forwarded-* and X-Request-Id headers.
// Body framing (Content-Length / Transfer-Encoding) is set later from the
// body.
func (c *call) copyRequestHeaders(ctx *fasthttp.RequestCtx, dst *fasthttp.RequestHeader, in *Input, rw *route.Rewrite) {
	src := &ctx.Request.Header
	dst.SetMethodBytes(src.Method())
	uri := src.RequestURI()
	if rw != nil && !(rw.Keeps() && keepTarget(ctx, rw, uri)) {
		uri = c.rewriteURI(ctx, rw)
	}
	rewrites := rw != nil && !rw.Keeps()
	if len(uri) == 0 || uri[0] != '/' && !(len(uri) == 1 && uri[0] == '*') {
		// absolute-form: send origin-form, the raw path and query.
		u := ctx.URI()
		c.scratch = append(c.scratch[:0], u.PathOriginal()...)
		if len(c.scratch) == 0 {
			c.scratch = append(c.scratch, '/')
		}
		if q := u.QueryString(); len(q) > 0 {
			c.scratch = append(append(c.scratch, '?'), q...)
		}
		uri = c.scratch
	}
	dst.SetRequestURIBytes(uri)
	// ctx.Host is the Host header, or the authority of an absolute-form URI
	// (RFC 9112 3.2.2).
	host := ctx.Host()
	dst.SetHostBytes(host)

	c.tokens = requestConnectionTokens(c.tokens[:0], src)
	for k, v := range src.All() {
		if skipRequestHeader(k, in, rewrites) || named(c.tokens, k) {
			continue
		}
		dst.AddBytesKV(k, v)
	}

	b := appendForwardedFor(ctx, in, c.scratch[:0])
	if len(b) > 0 {
		dst.SetBytesV(HeaderXForwardedFor, b)
	}
	c.scratch = b

	proto := "http"
	if ctx.IsTLS() {
		proto = "https"
	}
	if in.TrustedPeer {
		switch v := src.Peek(HeaderXForwardedProto); {
		case eqFold(v, "https"):
			proto = "https"
		case eqFold(v, "http"):
			proto = "http"
		}
	}
	dst.Set(HeaderXForwardedProto, proto)

	fwdHost := host
	if in.TrustedPeer {
		if v := src.Peek(HeaderXForwardedHost); len(v) > 0 {
			fwdHost = v
		}
	}
	if len(fwdHost) > 0 {
		dst.SetBytesV(HeaderXForwardedHost, fwdHost)
	}
	if rewrites {
		c.setForwardedPrefix(src, dst, in, rw)
	}
	if in.RequestID != "" {
		dst.Set(HeaderRequestID, in.RequestID)
	}
}

// keepTarget reports whether uri, the client's request target, can go to
// the upstream of a route.Keep route as it is: "*", or a path that needs no
// normalization (see route.Rewrite.Unchanged). An origin-form target must
// also be the path the router saw: without a Host header fasthttp reads
// "//admin/x" as host "admin" and path "/x".
func keepTarget(ctx *fasthttp.RequestCtx, rw *route.Rewrite, uri []byte) bool {
	if len(uri) == 1 && uri[0] == '*' {
		return true
	}
	u := ctx.URI()
	raw := u.PathOriginal()
	if len(uri) > 0 && uri[0] == '/' && !(bytes.HasPrefix(uri, raw) && (len(uri) == len(raw) || uri[len(raw)] == '?' || uri[len(raw)] == '#')) {
		return false
	}
	return rw.Unchanged(raw, u.Path())
}

// rewriteURI returns the origin-form request target with the path mapped
// by rw and the client's query, in c.scratch. Should the normalized path
// not start with the route's (the router matched it, so never), the
// normalized path goes up, made safe.
func (c *call) rewriteURI(ctx *fasthttp.RequestCtx, rw *route.Rewrite) []byte {
	u := ctx.URI()
	b, ok := rw.AppendPath(c.scratch[:0], u.PathOriginal(), u.Path())
	if !ok {
		b = route.AppendClean(c.scratch[:0], u.Path())
	}
	if q := u.QueryString(); len(q) > 0 {
		b = append(append(b, '?'), q...)
	}
	c.scratch = b
	return b
}

// setForwardedPrefix sets X-Forwarded-Prefix to the prefix rw takes off,
// after a trusted peer's own prefix.
func (c *call) setForwardedPrefix(src, dst *fasthttp.RequestHeader, in *Input, rw *route.Rewrite) {
	b := c.scratch[:0]
	if in.TrustedPeer {
		b = append(b, src.Peek(HeaderXForwardedPrefix)...)
		for len(b) > 0 && b[len(b)-1] == '/' {
			b = b[:len(b)-1]
		}
	}
	b = append(b, rw.ForwardedPrefix()...)
	if len(b) > 0 {
		dst.SetBytesV(HeaderXForwardedPrefix, b)
	}
	c.scratch = b
}

// copyResponseHeaders adds the upstream response's end-to-end headers to
// dst, the client response, keeping headers the gateway already set there
// (request id, rate-limit fields). Skipped besides hop-by-hop headers and
// Connection tokens: Content-Length (set from the body), Date and Server
// (the gateway's own, as nginx does), and X-Request-Id when the gateway
// sets it.
func (c *call) copyResponseHeaders(dst *fasthttp.ResponseHeader, src *fasthttp.ResponseHeader, in *Input) {
	// Without this, src.All would report fasthttp's default Content-Type
	// for a response that had none.
	src.SetNoDefaultContentType(true)
	c.tokens = responseConnectionTokens(c.tokens[:0], src)
	for k, v := range src.All() {
		if hopByHop(k) || named(c.tokens, k) {
			continue
		}
		switch len(k) {
		case 4:
			if eqFold(k, fasthttp.HeaderDate) {
				continue
			}
		case 6:
			if eqFold(k, fasthttp.HeaderServer) {
				continue
			}
		case 12:
			if in.RequestID != "" && eqFold(k, HeaderRequestID) {
				continue
			}
		case 14:
			if eqFold(k, fasthttp.HeaderContentLength) {
				continue
			}
		}
		dst.AddBytesKV(k, v)
	}
	if in.RequestID != "" {
		dst.Set(HeaderRequestID, in.RequestID)
	}
}
