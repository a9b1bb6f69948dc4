package proxy

import (
	"bufio"
	"errors"
	"time"

	"github.com/valyala/fasthttp"
)

// callKey is the Request user-value key under which Serve hands its call to
// the pools' roundTripper.
type callKey struct{}

// notSentError marks a failed exchange of which no byte reached the
// upstream, so the upstream cannot have acted on it: the request may be sent
// again on another connection, whatever its method.
type notSentError struct{ err error }

func (e *notSentError) Error() string { return e.err.Error() }
func (e *notSentError) Unwrap() error { return e.err }

// errIdleClosed: a pooled connection turned out to be closed by the upstream
// before the request was written (wrapped in a notSentError).
var errIdleClosed = errors.New("the upstream closed the pooled keep-alive connection")

// errClientGone: the exchange was cancelled because the client went away.
var errClientGone = errors.New("the client closed its connection")

// roundTripper is the fasthttp.RoundTripper of every pool. It runs the
// exchange itself, on the pool's connections (HostClient.AcquireConn and
// friends), instead of fasthttp's default transport, because Serve needs
// what that one hides: which connection the exchange uses (to cancel it when
// the client goes away), whether it was reused and already closed by the
// upstream, and whether any byte of the request was written.
type roundTripper struct{ t *Transport }

// RoundTrip implements fasthttp.RoundTripper. It never asks fasthttp to
// retry: Serve decides.
func (rt *roundTripper) RoundTrip(hc *fasthttp.HostClient, req *fasthttp.Request, resp *fasthttp.Response) (bool, error) {
	c, _ := req.UserValue(callKey{}).(*call)
	if c == nil {
		return fasthttp.DefaultTransport.RoundTrip(hc, req, resp)
	}
	return false, c.exchange(rt.t, hc, req, resp)
}

// exchange sends req on a connection of hc's pool and reads the response
// head into resp, like fasthttp's default transport; the response body is
// left to stream (resp.BodyStream), the connection held in c.held until the
// body is done with (see heldConn). A reused connection is first checked for
// a close by the upstream; while the request waits for its answer the
// connection is published in c.up for the client watcher.
func (c *call) exchange(t *Transport, hc *fasthttp.HostClient, req *fasthttp.Request, resp *fasthttp.Response) error {
	// A request forwarded in place keeps the client's "Connection: close"
	// for the client's connection; the upstream one stays alive.
	closeConn := req.ConnectionClose() && !c.inPlace.on
	cc, err := hc.AcquireConn(time.Until(c.deadline), closeConn)
	if err != nil {
		return err
	}
	conn := cc.Conn()
	resp.ParseNetConn(conn)
	tc, _ := conn.(*trackedConn)
	if tc != nil {
		tc.begin()
		if tc.reused() && tc.closedWhileIdle() {
			hc.CloseConn(cc)
			return &notSentError{errIdleClosed}
		}
		if !c.publish(tc) {
			hc.CloseConn(cc)
			return errClientGone
		}
	}
	// One call sets both deadlines (the same instant): each is a trip
	// through the runtime's poller timers.
	if err := conn.SetDeadline(c.deadline); err != nil {
		c.unpublish(tc)
		hc.CloseConn(cc)
		return err
	}
	bw := hc.AcquireWriter(conn)
	if c.inPlace.on {
		err = c.writeInPlace(bw, &req.Header)
	} else {
		err = req.Write(bw)
	}
	if err == nil {
		err = bw.Flush()
	}
	hc.ReleaseWriter(bw)
	if err != nil {
		c.unpublish(tc)
		hc.CloseConn(cc)
		if tc != nil && tc.sent == 0 && !c.streamed && !isTimeout(err) {
			// Nothing reached the upstream (and the body, in memory,
			// can be sent again).
			return &notSentError{err}
		}
		return err
	}
	if c.streamed && !c.watch.armed && c.body.EOF() {
		// The client's body is all read: nothing else reads its connection
		// until the answer, so the watch may look at it now.
		c.watch.arm(c.client, c.watchDelay, time.Now())
	}
	if req.Header.IsHead() {
		resp.SkipBody = true
	}
	br := hc.AcquireReader(conn)
	err = resp.ReadLimitBody(br, 0)
	if !c.unpublish(tc) && err == nil {
		err = errClientGone // the watcher closed the connection
	}
	if err != nil {
		hc.ReleaseReader(br)
		hc.CloseConn(cc)
		return err
	}
	// A body delimited by the connection's close leaves nothing to reuse.
	keep := !closeConn && !resp.ConnectionClose() && resp.Header.ContentLength() != -2
	if resp.BodyStream() == nil {
		// Bytes read past the answer are bytes nobody asked for: the
		// connection is out of step (see closedWhileIdle).
		keep = keep && br.Buffered() == 0
		hc.ReleaseReader(br)
		if keep {
			hc.ReleaseConn(cc)
		} else {
			hc.CloseConn(cc)
		}
		return nil
	}
	c.held = holdConn(t, hc, cc, br, keep, (*fasthttp.HostClient).ReleaseConn, (*fasthttp.HostClient).CloseConn)
	return nil
}

// publish makes tc the connection the client watcher cancels; it reports
// false when the client is already gone.
func (c *call) publish(tc *trackedConn) bool {
	c.up.Store(tc)
	if c.watch.gone.Load() {
		c.up.Store(nil)
		return false
	}
	return true
}

// unpublish takes tc back from the client watcher; it reports false when the
// watcher has closed it meanwhile. A nil tc was never published.
func (c *call) unpublish(tc *trackedConn) bool {
	return tc == nil || c.up.Swap(nil) != nil
}

// cancelUpstream closes the connection of the exchange in flight, if any:
// the upstream sees the request abandoned and the exchange fails at once.
func (c *call) cancelUpstream() {
	if tc := c.up.Swap(nil); tc != nil {
		_ = tc.Close()
	}
}

// heldConn is an upstream connection whose response body is still being
// read. done gives it back: to its pool when the body was read to the end
// and the connection may be kept alive, closed otherwise. Call it after the
// response (which reads through the connection's reader) is released.
type heldConn interface{ done(fullyRead bool) }

// connHold implements heldConn. fasthttp's pooled-connection type is
// unexported, so it is a type parameter here, inferred from
// HostClient.AcquireConn, and the pool's methods come as method expressions:
// holding a connection allocates nothing once the Transport's pool is warm.
type connHold[C any] struct {
	t              *Transport
	hc             *fasthttp.HostClient
	cc             C
	br             *bufio.Reader
	keep           bool
	release, close func(*fasthttp.HostClient, C)
}

func holdConn[C any](t *Transport, hc *fasthttp.HostClient, cc C, br *bufio.Reader, keep bool, release, close func(*fasthttp.HostClient, C)) heldConn {
	h, _ := t.holds.Get().(*connHold[C])
	if h == nil {
		h = new(connHold[C])
	}
	*h = connHold[C]{t: t, hc: hc, cc: cc, br: br, keep: keep, release: release, close: close}
	return h
}

func (h *connHold[C]) done(fullyRead bool) {
	// Bytes read past the body are bytes nobody asked for.
	keep := fullyRead && h.keep && h.br.Buffered() == 0
	h.hc.ReleaseReader(h.br)
	if keep {
		h.release(h.hc, h.cc)
	} else {
		h.close(h.hc, h.cc)
	}
	t := h.t
	*h = connHold[C]{}
	t.holds.Put(h)
}
