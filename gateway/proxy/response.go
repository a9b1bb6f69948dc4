package proxy

import (
	"io"

	"github.com/valyala/fasthttp"
)

// writeResponse moves the upstream response resp into ctx.Response and
// takes ownership of resp.
//
// A body with a Content-Length up to Options.BufferResponseBytes is read
// whole first: the upstream connection returns to its pool at once, and a
// body that breaks off becomes a 502 (the returned error) instead of a cut
// client connection. Any other body (large, chunked, or delimited by
// connection close) is streamed: ctx.Response gets a body stream that reads
// from the upstream connection while fasthttp writes to the client, so
// memory stays bounded by the buffers. The upstream connection is then held
// until the client has the body, and the route's response deadline keeps
// running while it is copied.
func (t *Transport) writeResponse(ctx *fasthttp.RequestCtx, resp *fasthttp.Response, c *call, in *Input) (streamed bool, err error) {
	held := c.held
	c.held = nil
	release := func(fullyRead bool) {
		fasthttp.ReleaseResponse(resp)
		if held != nil {
			held.done(fullyRead)
		}
	}
	cl := resp.Header.ContentLength()
	stream := resp.BodyStream()
	buffer := stream != nil && cl >= 0 && t.opts.BufferResponseBytes >= 0 && cl <= t.opts.BufferResponseBytes
	if buffer {
		ctx.Response.ResetBody()
		if err := resp.BodyWriteTo(ctx.Response.BodyWriter()); err != nil {
			ctx.Response.ResetBody()
			release(false)
			return false, err
		}
	}

	ctx.Response.SetStatusCode(resp.StatusCode())
	// Do not invent a Content-Type the upstream did not send.
	ctx.Response.Header.SetNoDefaultContentType(true)
	c.copyResponseHeaders(&ctx.Response.Header, &resp.Header, in)

	switch {
	case buffer:
		release(true)
		return false, nil
	case stream == nil && len(resp.Body()) > 0:
		// A pipelined exchange reads the whole body.
		ctx.Response.SetBody(resp.Body())
		release(true)
		return false, nil
	case stream == nil:
		// HEAD, 204, 304: no body, but a HEAD answer keeps the length the
		// upstream announced.
		if cl >= 0 {
			ctx.Response.Header.SetContentLength(cl)
		}
		ctx.Response.ResetBody()
		release(true)
		return false, nil
	}
	if cl < 0 {
		cl = -1 // chunked to the client, whatever the upstream used
	}
	ctx.Response.SetBodyStream(&upstreamBody{t: t, resp: resp, r: stream, held: held}, cl)
	return true, nil
}

// upstreamBody is a streamed upstream response body handed to fasthttp as
// the client response's body stream. fasthttp closes it after writing the
// response (or on failure, or when the response is reset), which releases
// the upstream response and its connection (held): back to the pool when
// the body was read to the end, closed otherwise.
type upstreamBody struct {
	t    *Transport
	resp *fasthttp.Response
	r    io.Reader
	held heldConn // the upstream connection; nil when fasthttp holds it
	eof  bool
}

// Read implements io.Reader.
func (b *upstreamBody) Read(p []byte) (int, error) {
	if b.r == nil {
		return 0, io.ErrClosedPipe
	}
	n, err := b.r.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

// WriteTo copies the body with a pooled buffer; fasthttp prefers it to Read
// and it spares the 32 KiB buffer io.Copy would allocate per response.
func (b *upstreamBody) WriteTo(w io.Writer) (int64, error) {
	bp := b.t.bufs.Get().(*[]byte)
	defer b.t.bufs.Put(bp)
	buf := *bp
	var total int64
	for {
		n, err := b.Read(buf)
		if n > 0 {
			m, werr := w.Write(buf[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// SupportsBodyWriteTo lets fasthttp use WriteTo for chunked bodies too.
func (b *upstreamBody) SupportsBodyWriteTo() bool { return true }

// Close releases the upstream response; later calls do nothing.
func (b *upstreamBody) Close() error {
	if b.resp != nil {
		fasthttp.ReleaseResponse(b.resp)
		b.resp, b.r = nil, nil
		if b.held != nil {
			b.held.done(b.eof)
			b.held = nil
		}
	}
	return nil
}
