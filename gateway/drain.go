package gateway

import (
	"errors"
	"io"
	"time"

	"github.com/valyala/fasthttp"
)

// An answer given before the request body was read (401, 403, 404, 405,
// 413, 429, 503, a function's error, an upstream that answered early) must
// not leave body bytes on a kept-alive connection: fasthttp would parse them
// as the next request, and a body that holds a request would be served as
// one — request smuggling. After every request the gateway therefore reads
// and discards what is left of the declared body, up to these bounds; past
// them, or when the body's framing is broken, it answers with
// Connection: close and closes with lingering (see linger.go).
const (
	// DefaultDrainBytes bounds the body bytes discarded to keep a connection.
	DefaultDrainBytes = 256 << 10
	// DefaultDrainTimeout bounds the time spent discarding them.
	DefaultDrainTimeout = 500 * time.Millisecond
)

// finishBody makes the connection safe to reuse after the handler: a
// streamed request body the handler left unread is drained within the
// bounds, or the response is marked to close the connection (lingering).
func (g *Gateway) finishBody(ctx *fasthttp.RequestCtx) {
	s := ctx.RequestBodyStream()
	if s == nil {
		return
	}
	if ctx.Response.ConnectionClose() {
		// The handler already gave up on the connection; let the client
		// read the answer before the close.
		markLinger(ctx.Conn())
		return
	}
	buf := g.drainBufs.Get().(*[16 << 10]byte)
	defer g.drainBufs.Put(buf)
	n, err := g.drain(ctx, s, buf)
	if err != nil {
		g.m.bodyUnread.Inc()
		ctx.SetConnectionClose()
		markLinger(ctx.Conn())
		return
	}
	if n > 0 {
		g.m.bodyDrained.Inc()
	}
}

// errDrainLimit is the end of a drain that reached its bounds.
var errDrainLimit = errors.New("request body left unread is larger than the drain limit")

// drain discards the rest of s within the drain bounds and returns how
// many bytes it discarded; a nil error means the body was read to its end. The common case, a body read to its end or never
// sent, costs one Read that returns io.EOF at once; the deadline bounds
// even that first Read, since a client may have declared a body it never
// sends.
func (g *Gateway) drain(ctx *fasthttp.RequestCtx, s io.Reader, buf *[16 << 10]byte) (int64, error) {
	conn := ctx.Conn()
	if err := conn.SetReadDeadline(time.Now().Add(g.opts.DrainTimeout)); err != nil {
		return 0, err
	}
	// The next request's read sets its own deadline; none stays behind
	// when the server has no timeouts.
	defer conn.SetReadDeadline(time.Time{}) //nolint:errcheck
	var n int64
	for n <= g.opts.DrainBytes {
		k, err := s.Read(buf[:])
		n += int64(k)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	return n, errDrainLimit
}
