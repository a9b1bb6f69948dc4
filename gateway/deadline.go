package gateway

import (
	"net"
	"time"
)

// Deadlines of client connections. fasthttp sets three per request on a
// kept-alive connection — the idle timeout before it waits for the next
// request, the read timeout once it begins, the write timeout before the
// answer — and each is a trip through the runtime's poller timers (a lock
// and a timer-heap update). lingerConn makes them cheaper without
// changing when a connection times out by more than a small fraction:
//
//   - A read deadline takes effect at the connection's next Read, not at
//     once: the connection has one reader, the server's goroutine for it,
//     which is also the one that sets the deadlines (the proxy's client
//     watch reads and sets deadlines on the wrapped connection itself, and
//     forward applies the pending deadline before it may start). The
//     read timeout set after a request's first bytes is never applied when
//     the whole request came with them, so one read deadline per request
//     reaches the poller instead of two. A zero deadline (none) applies at
//     once.
//   - A write deadline later than the one in effect by less than
//     writeSlack (the write timeout / 64) keeps the one in effect: a
//     connection answering many requests a second updates its write
//     deadline about once per writeSlack, and a write times out after at
//     least 63/64 of the write timeout.

// writeSlackDivisor sets writeSlack: the write timeout divided by it.
const writeSlackDivisor = 64

// SetReadDeadline implements net.Conn: t takes effect at the next Read
// (at once when zero).
func (c *lingerConn) SetReadDeadline(t time.Time) error {
	if t.IsZero() {
		c.readPending.Store(0)
		return c.Conn.SetReadDeadline(t)
	}
	c.readPending.Store(t.UnixNano())
	return nil
}

// applyReadDeadline puts a pending read deadline in effect.
func (c *lingerConn) applyReadDeadline() error {
	v := c.readPending.Load()
	if v == 0 || !c.readPending.CompareAndSwap(v, 0) {
		return nil
	}
	return c.Conn.SetReadDeadline(time.Unix(0, v))
}

// applyPendingReadDeadline puts the read deadline set for the request on
// conn's connection in effect now. forward calls it before proxying: the
// proxy's client watch waits on the socket itself, past lingerConn, and
// must end at the request's read timeout, not at the idle deadline of the
// wait before it (which may be about to pass).
func applyPendingReadDeadline(conn net.Conn) {
	if lc := lingerOf(conn); lc != nil {
		_ = lc.applyReadDeadline()
	}
}

// SetWriteDeadline implements net.Conn: a deadline less than writeSlack
// after the one in effect keeps that one.
func (c *lingerConn) SetWriteDeadline(t time.Time) error {
	if t.IsZero() {
		c.writeSet.Store(0)
		return c.Conn.SetWriteDeadline(t)
	}
	v := t.UnixNano()
	if keepDeadline(c.writeSet.Load(), v, c.l.writeSlack) {
		return nil
	}
	c.writeSet.Store(v)
	return c.Conn.SetWriteDeadline(t)
}

// SetDeadline implements net.Conn as SetReadDeadline and SetWriteDeadline.
func (c *lingerConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// keepDeadline reports whether the deadline in effect (unix nanos; 0:
// none) may stay instead of want: it is set and at most slack earlier.
func keepDeadline(inEffect, want, slack int64) bool {
	return inEffect != 0 && want >= inEffect && want-inEffect < slack
}
