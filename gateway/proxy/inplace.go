package proxy

import (
	"bufio"
	"bytes"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway/realip"
	"github.com/wharfhq/wharf/gateway/route"
)

// inPlace is the state of a request forwarded in place: the client's own
// request is handed to the pool and its head is written to the upstream
// straight from the parsed client header (writeInPlace), filtered and with
// the proxy's headers added, instead of being copied into the call's
// request first. The client's header is never changed, so the server and
// the access log read it as sent.
type inPlace struct {
	on bool
	// https: the URI's scheme was https (a TLS listener); it is http while
	// the pool has the request.
	https bool
	// noNormalize is the URI's DisablePathNormalizing before the pool set it.
	noNormalize bool
	// in is the request's Input (which headers to drop).
	in Input
	// host, xff, proto and fwdHost are the values of Host,
	// X-Forwarded-For, X-Forwarded-Proto and X-Forwarded-Host (in the
	// call's scratch).
	host, xff, fwdHost []byte
	proto              string
}

// forwardInPlace reports whether the client request in ctx can be forwarded
// in place: it has no body, is not pipelined (the pipelined client copies
// requests and writes them itself), and its request target goes up
// unchanged (an origin-form target, on a route that does not rewrite it).
// Other requests are copied into the call's own request
// (copyRequestHeaders).
func forwardInPlace(ctx *fasthttp.RequestCtx, rw *route.Rewrite, hasBody, pipelined bool) bool {
	if hasBody || pipelined {
		return false
	}
	uri := ctx.Request.Header.RequestURI()
	if !plainTarget(uri, ctx.URI().PathOriginal()) {
		return false
	}
	return rw == nil || rw.Keeps() && keepTarget(ctx, rw, uri)
}

// plainTarget reports whether the request target uri is the path as the
// router saw it (raw), optionally followed by '?' and a query: what the
// copy path's pool sends too, since it rebuilds the target from the
// parsed URI. A fragment ("/public/x#/../../admin/secret": an upstream
// that takes '#' as part of the path would read another route's path),
// an empty query or a target fasthttp read a host from ("//host/path")
// are copied instead.
func plainTarget(uri, raw []byte) bool {
	if len(uri) == 0 || uri[0] != '/' || bytes.IndexByte(uri, '#') >= 0 || !bytes.HasPrefix(uri, raw) {
		return false
	}
	rest := uri[len(raw):]
	return len(rest) == 0 || rest[0] == '?' && len(rest) > 1
}

// prepareInPlace readies the call to forward the client request in ctx in
// place: the Connection tokens and the values of the headers the proxy
// sets, by the rules of copyRequestHeaders. instance is the Host of a
// request that came without one. restoreInPlace undoes it.
func (c *call) prepareInPlace(ctx *fasthttp.RequestCtx, in *Input, instance string) {
	ip := &c.inPlace
	ip.on, ip.in = true, *in
	ip.noNormalize = ctx.Request.URI().DisablePathNormalizing
	h := &ctx.Request.Header
	c.tokens = requestConnectionTokens(c.tokens[:0], h)
	if ctx.IsTLS() {
		// HostClient refuses an https URI on a plain-HTTP pool.
		if u := ctx.Request.URI(); bytes.Equal(u.Scheme(), httpsScheme) {
			ip.https = true
			u.SetScheme("http")
		}
	}

	b := c.scratch[:0]
	// ctx.Host is the Host header lowercased (the router's).
	host := ctx.Host()
	if len(host) == 0 {
		b = append(b, instance...)
	} else {
		b = append(b, host...)
	}
	nHost := len(b)
	b = appendForwardedFor(ctx, in, b)
	nFor := len(b)
	fwdHost := host
	if in.TrustedPeer {
		if v := h.Peek(HeaderXForwardedHost); len(v) > 0 {
			fwdHost = v
		}
	}
	b = append(b, fwdHost...)
	c.scratch = b
	ip.host, ip.xff, ip.fwdHost = b[:nHost], b[nHost:nFor], b[nFor:]

	ip.proto = "http"
	if ctx.IsTLS() {
		ip.proto = "https"
	}
	if in.TrustedPeer {
		switch v := h.Peek(HeaderXForwardedProto); {
		case eqFold(v, "https"):
			ip.proto = "https"
		case eqFold(v, "http"):
			ip.proto = "http"
		}
	}
}

// writeInPlace writes the upstream request head of a request forwarded in
// place, h its client header: the method and the request target as sent,
// HTTP/1.1, the Host, every end-to-end header (what copyRequestHeaders
// keeps, in the same order), X-Forwarded-For, -Proto, -Host and
// X-Request-Id, and "Content-Length: 0" for a method other than GET and
// HEAD (as fasthttp frames a bodiless request). It is built in the call's
// head buffer and written at once.
func (c *call) writeInPlace(bw *bufio.Writer, h *fasthttp.RequestHeader) error {
	ip := &c.inPlace
	b := append(c.head[:0], h.Method()...)
	b = append(b, ' ')
	b = append(b, h.RequestURI()...)
	b = append(b, " HTTP/1.1\r\n"...)
	b = appendHeaderLine(b, fasthttp.HeaderHost, ip.host)
	for k, v := range h.All() {
		if skipRequestHeader(k, &ip.in, false) || named(c.tokens, k) {
			continue
		}
		b = append(b, k...)
		b = append(b, ": "...)
		b = append(b, v...)
		b = append(b, "\r\n"...)
	}
	if len(ip.xff) > 0 {
		b = appendHeaderLine(b, HeaderXForwardedFor, ip.xff)
	}
	b = append(b, HeaderXForwardedProto+": "...)
	b = append(b, ip.proto...)
	b = append(b, "\r\n"...)
	if len(ip.fwdHost) > 0 {
		b = appendHeaderLine(b, HeaderXForwardedHost, ip.fwdHost)
	}
	if ip.in.RequestID != "" {
		b = append(b, HeaderRequestID+": "...)
		b = append(b, ip.in.RequestID...)
		b = append(b, "\r\n"...)
	}
	if !h.IsGet() && !h.IsHead() {
		b = append(b, fasthttp.HeaderContentLength+": 0\r\n"...)
	}
	b = append(b, "\r\n"...)
	c.head = b
	_, err := bw.Write(b)
	return err
}

func appendHeaderLine(b []byte, k string, v []byte) []byte {
	b = append(b, k...)
	b = append(b, ": "...)
	b = append(b, v...)
	return append(b, "\r\n"...)
}

// restoreInPlace gives the request in ctx back its URI scheme and drops the
// call from it, after the exchange.
func (c *call) restoreInPlace(ctx *fasthttp.RequestCtx) {
	ip := &c.inPlace
	if !ip.on {
		return
	}
	if ip.https {
		ctx.Request.URI().SetScheme("https")
	}
	// The pool sets it on the request it sends; the client's URI keeps
	// what it had, for the access log and anything reading it after.
	ctx.Request.URI().DisablePathNormalizing = ip.noNormalize
	ctx.Request.RemoveUserValue(callKey{})
	*ip = inPlace{}
}

var httpsScheme = []byte("https")

// appendForwardedFor appends the X-Forwarded-For value to b: a trusted
// peer's list plus the peer, else the peer.
func appendForwardedFor(ctx *fasthttp.RequestCtx, in *Input, b []byte) []byte {
	start := len(b)
	if in.TrustedPeer {
		for _, v := range ctx.Request.Header.PeekAll(HeaderXForwardedFor) {
			if v = bytes.Trim(v, " \t,"); len(v) == 0 {
				continue
			}
			if len(b) > start {
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
		if len(b) > start {
			b = append(b, ", "...)
		}
		b = peer.AppendTo(b)
	}
	return b
}
