// Package bodylimit caps request bodies that fasthttp streams
// (Server.StreamRequestBody, where MaxRequestBodySize is not a cap): a
// Reader that passes at most N bytes and then fails, and the two ways a
// handler takes a body — Stream (read it as a stream) and Read (hold it in
// memory). The gateway's proxy and the functions share them, so a route's
// max_body_bytes means the same everywhere.
package bodylimit

import (
	"errors"
	"fmt"
	"io"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/httperr"
)

// ClientError is a failure to read the client's request body (the client
// went away, sent a malformed chunk, or sent less than its Content-Length);
// it is the client's fault, never an upstream's.
type ClientError struct{ Err error }

func (e *ClientError) Error() string { return fmt.Sprintf("cannot read request body: %v", e.Err) }
func (e *ClientError) Unwrap() error { return e.Err }

// Aborter is told when a Reader fails, e.g. to reset the upstream connection
// the body was being written to (a fasthttp upstream would otherwise take a
// cut-off chunked body for a complete one).
type Aborter interface{ Abort() }

// Reader passes at most max bytes of a request body through. The first Read
// that would go past max returns the allowed rest and
// fasthttp.ErrBodyTooLarge; errors are sticky. It also turns a body shorter
// than its declared Content-Length into a *ClientError. The zero value is
// unusable; call Reset. A Reader is not safe for concurrent use.
type Reader struct {
	r    io.Reader
	max  int64
	want int64 // declared Content-Length, or -1
	n    int64
	err  error
	eof  bool
	// OnFail, when set, is told when the body is cut off or unreadable.
	OnFail Aborter
}

// Reset makes b read at most max bytes from r, whose declared length is
// want (-1 when unknown), and clears OnFail.
func (b *Reader) Reset(r io.Reader, max, want int64) {
	*b = Reader{r: r, max: max, want: want}
}

// Err is the sticky error, nil while the body reads fine.
func (b *Reader) Err() error { return b.err }

// EOF reports whether the whole body was read.
func (b *Reader) EOF() bool { return b.eof }

func (b *Reader) fail(err error) error {
	b.err = err
	if b.OnFail != nil {
		b.OnFail.Abort()
	}
	return err
}

// Read implements io.Reader.
func (b *Reader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.eof {
		return 0, io.EOF
	}
	// Ask for one byte past the limit to notice an oversized body.
	if room := b.max - b.n + 1; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.r.Read(p)
	if n < 0 || n > len(p) {
		n, err = 0, io.ErrNoProgress
	}
	if b.n+int64(n) > b.max {
		n = int(b.max - b.n)
		b.n = b.max
		return n, b.fail(fasthttp.ErrBodyTooLarge)
	}
	b.n += int64(n)
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		if b.want >= 0 && b.n < b.want {
			return n, b.fail(&ClientError{io.ErrUnexpectedEOF})
		}
		b.eof = true
		return n, io.EOF
	default:
		return n, b.fail(&ClientError{err})
	}
	return n, nil
}

// TooLarge is the 413 for a body over max bytes.
func TooLarge(max int64) *httperr.Error {
	return httperr.New(fasthttp.StatusRequestEntityTooLarge, "request body exceeds %d bytes", max)
}

// HTTPError maps a Reader error to the client's answer: 413 or 400.
func HTTPError(err error, max int64) *httperr.Error {
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		return TooLarge(max)
	}
	return httperr.Wrap(fasthttp.StatusBadRequest, err, "cannot read request body")
}

// Stream is for handlers that stream their request body. It rejects a Content-Length over limit with
// a 413 and otherwise returns a reader of the body that yields at most limit
// bytes and then fasthttp.ErrBodyTooLarge (map it with errors.Is to
// StatusRequestEntityTooLarge). Read the body only through the returned
// reader, and only before the handler returns. On any error answer, call
// ctx.SetConnectionClose: the rest of the body is unread.
func Stream(ctx *fasthttp.RequestCtx, limit int64) (io.Reader, *httperr.Error) {
	cl := int64(ctx.Request.Header.ContentLength())
	if cl > limit {
		ctx.SetConnectionClose()
		return nil, TooLarge(limit)
	}
	b := &Reader{}
	if s := ctx.RequestBodyStream(); s != nil {
		if cl < -1 {
			cl = -1
		}
		b.Reset(s, limit, cl)
		return b, nil
	}
	body := ctx.Request.Body()
	if int64(len(body)) > limit {
		ctx.SetConnectionClose()
		return nil, TooLarge(limit)
	}
	b.Reset(&sliceReader{b: body}, limit, -1)
	return b, nil
}

// Read is for handlers that read ctx.PostBody(): with a streamed request
// body PostBody would read the whole stream into memory, unbounded. Read
// rejects a Content-Length over limit, else reads at most limit bytes of
// the body into memory, rejecting a longer (chunked) body with a 413 too.
// Afterwards PostBody returns the body and the Content-Length header matches
// it; ctx.RequestBodyStream() is nil. A non-nil error is the answer to send
// (httperr.Write); the connection is then marked to close, since the rest of
// the body was not read. Use Stream for bodies too large to hold.
func Read(ctx *fasthttp.RequestCtx, limit int64) *httperr.Error {
	_, he := read(ctx, limit, nil)
	return he
}

// ReadReusing is Read with the body read into a buffer of bufs. It returns
// that buffer (nil when the body was not streamed and none was taken): once
// nothing refers to the body any more, reset it
// (ctx.Request.ResetBody) and give the buffer back with bufs.Put.
func ReadReusing(ctx *fasthttp.RequestCtx, limit int64, bufs *Buffers) ([]byte, *httperr.Error) {
	return read(ctx, limit, bufs)
}

func read(ctx *fasthttp.RequestCtx, limit int64, bufs *Buffers) ([]byte, *httperr.Error) {
	const maxUpfront = 1 << 20
	s := ctx.RequestBodyStream()
	cl := int64(ctx.Request.Header.ContentLength())
	if cl > limit {
		ctx.SetConnectionClose()
		return nil, TooLarge(limit)
	}
	if s == nil {
		if int64(len(ctx.Request.Body())) > limit {
			ctx.SetConnectionClose()
			return nil, TooLarge(limit)
		}
		return nil, nil
	}
	if cl < -1 {
		cl = -1
	}
	var r Reader
	r.Reset(s, limit, cl)
	// A declared length is allocated at once (one byte more: the read
	// that finds the end needs room), up to maxUpfront: a client cannot
	// make the server hold more than that before it sends the bytes.
	// Growing from 64 KiB copied a 130 KiB metric push twice and was a
	// third of the push handler's CPU.
	size := cl + 1
	if cl < 0 || size > maxUpfront {
		size = min(limit+1, maxUpfront)
	}
	buf := bufs.get(int(size))
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			ctx.SetConnectionClose()
			bufs.Put(buf)
			return nil, HTTPError(err, limit)
		}
	}
	ctx.Request.SetBodyRaw(buf)
	ctx.Request.Header.SetContentLength(len(buf))
	return buf, nil
}

// sliceReader reads a byte slice; unlike bytes.Reader it is never taken by
// fasthttp's WriteTo shortcuts, so all reads go through Reader.
type sliceReader struct{ b []byte }

func (s *sliceReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}
