package gateway

import (
	"errors"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/wharfhq/wharf/internal/httperr"
)

// handleParseError answers requests fasthttp could not read. The answer
// names the kind of problem only: fasthttp's error text can quote the
// request head, credentials included, and is never echoed.
func (g *Gateway) handleParseError(ctx *fasthttp.RequestCtx, err error) {
	start := time.Now()
	rid := g.ids.next()
	ctx.Response.Header.Set(HeaderRequestID, rid)
	he := parseErrorAnswer(err, g.opts.MaxBodyBytes)
	httperr.Write(ctx, nil, rid, he)
	// fasthttp closes the connection after this answer; the client may
	// still be sending the body it refused.
	markLinger(ctx.Conn())
	g.m.observe(he.Status, time.Since(start).Seconds())
}

// parseErrorAnswer maps an error reading a request to its answer.
func parseErrorAnswer(err error, maxBody int) *httperr.Error {
	var te interface{ Timeout() bool }
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return httperr.New(fasthttp.StatusRequestEntityTooLarge, "request body exceeds %d bytes", maxBody)
	case errors.As(err, &small):
		return httperr.New(fasthttp.StatusRequestHeaderFieldsTooLarge, "request head too large")
	case errors.As(err, &te) && te.Timeout():
		return httperr.New(fasthttp.StatusRequestTimeout, "request not received in time")
	}
	var host fasthttp.InvalidHostError
	if errors.As(err, &host) {
		return httperr.BadRequest("malformed request: invalid Host header")
	}
	return httperr.BadRequest("malformed request: %s", parseErrorKind(err.Error()))
}

// parseErrorKind names what was wrong with a request fasthttp could not
// read, in fixed words: its error texts quote header values (credentials
// among them), so they are never passed on.
func parseErrorKind(msg string) string {
	msg = strings.ToLower(msg)
	for _, k := range [...]struct{ in, kind string }{
		{"host", "invalid Host header"},
		{"content-length", "invalid Content-Length"},
		{"transfer-encoding", "unsupported or repeated Transfer-Encoding"},
		{"http version", "unsupported HTTP version"},
		{"request method", "invalid request method"},
		{"request uri", "invalid request target"},
		{"requesturi", "invalid request target"},
		{"header key", "invalid header field name"},
		{"header value", "invalid header field value"},
		{"mime header", "invalid header field"},
		{"trailer", "invalid trailer"},
		{"chunk", "malformed chunked body"},
		{"whitespace", "malformed request line"},
	} {
		if strings.Contains(msg, k.in) {
			return k.kind
		}
	}
	return "not valid HTTP/1.1 (request line, header fields or body framing)"
}
