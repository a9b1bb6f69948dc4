package proxy

import (
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// dialError marks an error as a failure to connect: nothing was sent, so the
// request may go to another instance.
type dialError struct {
	addr string
	err  error
}

func (e *dialError) Error() string { return fmt.Sprintf("cannot connect to %s: %v", e.addr, e.err) }
func (e *dialError) Unwrap() error { return e.err }

// Timeout reports whether the dial timed out.
func (e *dialError) Timeout() bool {
	if errors.Is(e.err, fasthttp.ErrDialTimeout) {
		return true
	}
	var t interface{ Timeout() bool }
	return errors.As(e.err, &t) && t.Timeout()
}

// dialer returns the HostClient.DialTimeout of one pool: it caps the dial at
// the pool's connect timeout (fasthttp passes what is left of the request
// deadline) and wraps connections so a stale keep-alive connection can be
// told from a fresh one.
func dialer(dial DialFunc, connect time.Duration) fasthttp.DialFuncWithTimeout {
	return func(addr string, timeout time.Duration) (net.Conn, error) {
		if timeout <= 0 || timeout > connect {
			timeout = connect
		}
		c, err := dial(addr, timeout)
		if err != nil {
			return nil, &dialError{addr: addr, err: err}
		}
		return track(c), nil
	}
}

// track wraps a new upstream connection.
func track(c net.Conn) *trackedConn {
	tc := &trackedConn{Conn: c}
	tc.local = connAddr{Addr: c.LocalAddr(), c: tc}
	if sc, ok := c.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			tc.raw, tc.peek = raw, tc.peekIdle
		}
	}
	return tc
}

// trackedConn counts the exchanges on a connection, the bytes written in the
// current one and the bytes read, so that after a failed exchange the proxy
// can tell "nothing of the request reached the upstream" (safe to send again,
// whatever the method) and "a reused connection that answered nothing"
// (safe to replay an idempotent request) from other failures.
//
// A connection is used by one exchange at a time and handed between
// goroutines through the HostClient's mutex-guarded pool, so plain fields
// suffice.
type trackedConn struct {
	net.Conn
	local connAddr
	// raw is the socket for a non-blocking look at an idle connection; nil
	// when the connection is not a socket (in-memory listeners).
	raw  syscall.RawConn
	peek func(fd uintptr) bool // c.peekIdle, bound once
	dead bool                  // what the last peek found

	exchanges    int
	sent         int64 // bytes written in the current exchange
	reads        int64
	readsAtStart int64
	// abort makes Close reset the connection (RST) instead of closing it
	// (FIN), set when a request body is cut off mid-stream.
	abort atomic.Bool
}

// begin notes the start of an exchange.
func (c *trackedConn) begin() {
	c.exchanges++
	c.sent = 0
	c.readsAtStart = c.reads
}

// reused reports whether the current exchange is not the connection's first.
func (c *trackedConn) reused() bool { return c.exchanges > 1 }

// closedWhileIdle reports whether the upstream closed (or reset) this idle
// pooled connection, or sent on it bytes nobody asked for: either way a
// request written now would be lost. It looks at the socket without
// consuming or waiting (one non-blocking peek). It cannot be skipped for
// requests that could be replayed on a fresh connection: the replay covers a
// close, not the bytes (TestIdleConnWithUnsolicitedBytesIsNotReused).
func (c *trackedConn) closedWhileIdle() bool {
	if c.raw == nil {
		return false
	}
	c.dead = false
	if err := c.raw.Read(c.peek); err != nil {
		return true
	}
	return c.dead
}

func (c *trackedConn) peekIdle(fd uintptr) bool {
	c.dead = idleSocketDead(fd)
	return true // done: never wait for readiness
}

// Write counts the bytes of the current exchange that reached the socket.
func (c *trackedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.sent += int64(n)
	return n, err
}

// Read counts response bytes.
func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.reads += int64(n)
	}
	return n, err
}

// Close closes the connection; with abort set it sends RST, so that the
// upstream cannot mistake a request body cut off at a chunk boundary (or
// short of its Content-Length) for a complete one. fasthttp's own server,
// for one, reads EOF between chunks as the end of the body.
func (c *trackedConn) Close() error {
	if c.abort.Load() {
		if l, ok := c.Conn.(interface{ SetLinger(sec int) error }); ok {
			_ = l.SetLinger(0)
		}
	}
	return c.Conn.Close()
}

// LocalAddr returns an address that leads back to c: fasthttp records it in
// Response.LocalAddr, the only trace of which connection an exchange used.
func (c *trackedConn) LocalAddr() net.Addr { return &c.local }

// staleReuse reports whether the last exchange ran on a reused connection
// and received nothing.
func (c *trackedConn) staleReuse() bool {
	return c.exchanges > 1 && c.reads == c.readsAtStart
}

// connAddr is the real local address plus the connection it belongs to.
type connAddr struct {
	net.Addr
	c *trackedConn
}

// respAborter resets the connection of an exchange in progress when the
// client's body is cut off (see bodylimit.Aborter). It is pointer-shaped, so
// storing it in the interface does not allocate.
type respAborter struct{ resp *fasthttp.Response }

// Abort implements bodylimit.Aborter.
func (a respAborter) Abort() { abortConn(a.resp) }

// abortConn marks the connection of resp's exchange in progress (fasthttp
// records it in resp before writing the request) to be reset on close.
func abortConn(resp *fasthttp.Response) {
	if resp == nil {
		return
	}
	if a, ok := resp.LocalAddr().(*connAddr); ok {
		a.c.abort.Store(true)
	}
}

// staleConn reports whether resp's failed exchange ran on a reused pooled
// connection that answered nothing.
func staleConn(resp *fasthttp.Response) bool {
	a, ok := resp.LocalAddr().(*connAddr)
	return ok && a.c.staleReuse()
}
