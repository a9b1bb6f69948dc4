package gateway

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Lingering close (nginx's lingering_close): when the gateway answers a
// request before reading all of its body and then closes the connection,
// closing at once would make the kernel answer the client's still-arriving
// body with a reset, which can destroy the answer before the client reads
// it. A connection marked to linger instead shuts down its sending side
// (the answer and a FIN go out) and reads and discards what the client
// still sends, for a bounded time and number of bytes, before closing.
const (
	// DefaultLingerTimeout bounds the whole lingering close.
	DefaultLingerTimeout = 5 * time.Second
	// DefaultLingerBytes bounds what a lingering close reads and discards.
	DefaultLingerBytes = 8 << 20
	// lingerReadTimeout ends the lingering early when the client pauses.
	lingerReadTimeout = time.Second
)

// lingerListener wraps accepted connections so that they can be marked to
// close with lingering.
type lingerListener struct {
	net.Listener
	timeout time.Duration
	max     int64
	// writeSlack is how much earlier than asked a connection's write
	// deadline may stay (see deadline.go); 0: every deadline applies.
	writeSlack int64
	bufs       *sync.Pool // *[16 << 10]byte
	// plain is false under TLS, whose handshake bytes are no request.
	plain bool

	// mu guards the connections lingering now and closed: once the
	// listener is closed (the gateway shuts down), no connection lingers
	// and those lingering stop at once, so lingering never holds up a
	// graceful shutdown.
	mu        sync.Mutex
	lingering map[*lingerConn]struct{}
	// conns are the open connections: at shutdown, those that never
	// sent a byte are closed (fasthttp waits for a first request on them
	// until its read timeout; HTTP clients open such connections, e.g.
	// Go's when a dial loses the race to a connection freed meanwhile).
	conns  map[*lingerConn]struct{}
	closed bool
	// open counts accepted connections not closed yet (for the drain
	// error of a shutdown that timed out).
	open atomic.Int64
}

// counts returns how many accepted connections are open and lingering.
func (l *lingerListener) counts() (open, lingering int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int(l.open.Load()), len(l.lingering)
}

func newLingerListener(ln net.Listener, plain bool, timeout time.Duration, max int64) *lingerListener {
	return &lingerListener{Listener: ln, plain: plain, timeout: timeout, max: max,
		bufs: &sync.Pool{New: func() any { return new([16 << 10]byte) }}}
}

// Accept implements net.Listener.
func (l *lingerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	lc := &lingerConn{Conn: c, l: l}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		_ = c.Close()
		return nil, net.ErrClosed
	}
	if l.conns == nil {
		l.conns = map[*lingerConn]struct{}{}
	}
	l.conns[lc] = struct{}{}
	l.mu.Unlock()
	l.open.Add(1)
	return lc, nil
}

// Close implements net.Listener; it also ends every lingering close.
func (l *lingerListener) Close() error {
	l.mu.Lock()
	l.closed = true
	for c := range l.lingering {
		_ = c.Conn.SetReadDeadline(time.Now())
	}
	for c := range l.conns {
		if c.state.CompareAndSwap(connNew, connKilled) {
			_ = c.Conn.Close() // no request begun: nothing to drain
		}
	}
	l.mu.Unlock()
	return l.Listener.Close()
}

// startLinger registers c as lingering; false when the listener is closed.
func (l *lingerListener) startLinger(c *lingerConn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	if l.lingering == nil {
		l.lingering = map[*lingerConn]struct{}{}
	}
	l.lingering[c] = struct{}{}
	return true
}

func (l *lingerListener) endLinger(c *lingerConn) {
	l.mu.Lock()
	delete(l.lingering, c)
	l.mu.Unlock()
}

// lingerConn is an accepted connection that can be marked to close with
// lingering.
type lingerConn struct {
	net.Conn
	l      *lingerListener
	linger atomic.Bool
	closed atomic.Bool
	// state is connNew until the client's first byte of a request
	// (connStarted), or until a shutdown closes it silent (connKilled);
	// the change is one compare-and-swap, so a request is either served
	// or never read.
	state atomic.Int32
	// readPending is a read deadline (unix nanos) set but not in effect
	// yet, 0 for none; writeSet is the write deadline in effect, 0 for
	// none (see deadline.go).
	readPending, writeSet atomic.Int64
}

// States of lingerConn.state.
const (
	connNew int32 = iota
	connStarted
	connKilled
)

// Read implements net.Conn; on a plain listener the first bytes mark the
// connection started (under TLS the decrypting connection does, see
// MarkStarted: handshake bytes are no request).
func (c *lingerConn) Read(p []byte) (int, error) {
	if err := c.applyReadDeadline(); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	if n > 0 && c.l.plain && !c.MarkStarted() {
		return 0, net.ErrClosed // a shutdown closed it first: drop the bytes
	}
	return n, err
}

// MarkStarted notes that a request began on the connection. It reports
// false when a shutdown closed the connection as silent first; the bytes
// that came must then be dropped, unserved.
func (c *lingerConn) MarkStarted() bool {
	if c.state.Load() == connStarted || c.state.CompareAndSwap(connNew, connStarted) {
		return true
	}
	return c.state.Load() == connStarted
}

// NetConn returns the wrapped connection, like tls.Conn's.
func (c *lingerConn) NetConn() net.Conn { return c.Conn }

// Close implements net.Conn: with lingering when the connection was marked.
func (c *lingerConn) Close() error {
	if !c.closed.Swap(true) {
		defer c.l.open.Add(-1)
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	}
	if !c.linger.Swap(false) {
		return c.Conn.Close()
	}
	cw, ok := c.Conn.(interface{ CloseWrite() error })
	if !ok || !c.l.startLinger(c) {
		return c.Conn.Close()
	}
	defer c.l.endLinger(c)
	if cw.CloseWrite() != nil {
		return c.Conn.Close()
	}
	buf := c.l.bufs.Get().(*[16 << 10]byte)
	defer c.l.bufs.Put(buf)
	end := time.Now().Add(c.l.timeout)
	var n int64
	for n < c.l.max {
		next := time.Now().Add(lingerReadTimeout)
		if next.After(end) {
			next = end
		}
		c.l.mu.Lock()
		stop := c.l.closed
		if !stop && c.Conn.SetReadDeadline(next) != nil {
			stop = true
		}
		c.l.mu.Unlock()
		if stop {
			break
		}
		k, err := c.Conn.Read(buf[:])
		n += int64(k)
		if err != nil {
			break
		}
	}
	return c.Conn.Close()
}

// lingerOf returns the gateway connection behind conn (possibly wrapped,
// e.g. by TLS), nil when conn is not one of the gateway's.
func lingerOf(conn net.Conn) *lingerConn {
	for conn != nil {
		if lc, ok := conn.(*lingerConn); ok {
			return lc
		}
		u, ok := conn.(interface{ NetConn() net.Conn })
		if !ok {
			return nil
		}
		conn = u.NetConn()
	}
	return nil
}

// markLinger marks the connection behind conn to close with lingering. It
// reports false when conn is not one of the gateway's.
func markLinger(conn net.Conn) bool {
	lc := lingerOf(conn)
	if lc != nil {
		lc.linger.Store(true)
	}
	return lc != nil
}
