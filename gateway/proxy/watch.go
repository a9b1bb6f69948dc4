package proxy

import (
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// clientWatch notices a client that goes away while its request waits for
// the upstream. fasthttp has no CloseNotify, and nothing reads the client's
// connection while the handler runs, so a watcher looks at the socket
// without consuming from it (a non-blocking MSG_PEEK, repeated on each
// readiness event of the connection): zero bytes or a reset mean the client
// closed. Only requests still waiting after Options.ClientWatchDelay get a
// watcher; a fast request costs two short critical sections, no goroutine,
// no system call and no timer operation. A watcher that sees the client gone
// closes the upstream connection of the exchange in flight, so the exchange
// fails at once and Serve returns, releasing the request's concurrency
// slots.
//
// The timer is re-armed lazily: arm starts it only when it is not already
// pending, and disarm does not stop it. When it fires it looks at the call
// as it is then: nothing armed (the request ended; the call may be idle in
// its pool or serving another request) — it lapses; armed for less than the
// delay (a later request of the same call) — it waits out the rest; armed
// for the delay — the watcher runs. Under load each pooled call's timer so
// fires about once per delay instead of being reset and stopped on every
// request.
//
// The watcher runs in the timer's goroutine and holds the connection's read
// lock while it waits; disarm wakes it with a past read deadline and waits
// for it, then clears the deadline (fasthttp's server sets its own before
// it reads the next request, when it uses one at all).
type clientWatch struct {
	timer *time.Timer // runs c.fireWatch; created with the call
	armed bool        // only Serve's goroutine touches it
	gone  atomic.Bool
	done  chan struct{} // signalled when a running watcher that disarm waits for ends

	mu      sync.Mutex
	nc      net.Conn      // the client's connection (a socket)
	since   time.Time     // when the current watch was armed
	delay   time.Duration // the current watch's delay
	stopped bool          // no watch armed: the watcher must not start, or must end
	pending bool          // the timer is set and has not fired yet
	running bool
	waiter  bool // disarm waits for the running watcher
}

func (w *clientWatch) init(fire func()) {
	w.timer = time.AfterFunc(time.Hour, fire)
	w.timer.Stop()
	w.done = make(chan struct{}, 1)
	w.stopped = true
}

// watchable returns the socket under a client connection (a TLS
// connection's own), or nil when it is not one.
func watchable(c net.Conn) net.Conn {
	for c != nil {
		if _, ok := c.(syscall.Conn); ok {
			return c
		}
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return nil
		}
		c = u.NetConn()
	}
	return nil
}

// arm starts the watch of conn at now: a watcher starts once the request
// has waited delay since, unless disarm comes first.
func (w *clientWatch) arm(conn net.Conn, delay time.Duration, now time.Time) {
	w.gone.Store(false)
	if delay <= 0 {
		return
	}
	nc := watchable(conn)
	if nc == nil {
		return
	}
	w.mu.Lock()
	w.nc, w.since, w.delay, w.stopped = nc, now, delay, false
	start := !w.pending
	w.pending = true
	w.mu.Unlock()
	w.armed = true
	if start {
		w.timer.Reset(delay)
	}
}

// disarm ends the watch and waits for a running watcher to finish; after it
// returns, gone is final and no watcher of this arm can start.
func (w *clientWatch) disarm() {
	if !w.armed {
		return
	}
	w.armed = false
	w.mu.Lock()
	w.stopped = true
	running, nc := w.running, w.nc
	w.nc = nil
	w.waiter = running
	w.mu.Unlock()
	if !running {
		return // the watcher never runs for this arm
	}
	_ = nc.SetReadDeadline(time.Unix(1, 0))
	<-w.done
	_ = nc.SetReadDeadline(time.Time{})
}

// fireWatch is the timer's function: it lapses when no watch is armed,
// waits out the rest of a watch armed since it was set, and otherwise is
// the watcher: it waits until the client goes away (then cancels the
// upstream exchange) or disarm wakes it.
func (c *call) fireWatch() {
	w := &c.watch
	w.mu.Lock()
	if w.stopped {
		w.pending = false
		w.mu.Unlock()
		return
	}
	if rest := w.delay - time.Since(w.since); rest > 0 {
		w.timer.Reset(rest) // still pending
		w.mu.Unlock()
		return
	}
	w.pending = false
	w.running = true
	nc := w.nc
	w.mu.Unlock()

	if clientClosed(nc) {
		w.gone.Store(true)
		c.cancelUpstream()
	}

	w.mu.Lock()
	w.running = false
	wake := w.waiter
	w.waiter = false
	w.mu.Unlock()
	if wake {
		w.done <- struct{}{}
	}
}

// clientClosed blocks until the client socket nc shows the client gone
// (true), or the watch cannot go on: a read deadline woke it, or the
// platform cannot tell (false).
func clientClosed(nc net.Conn) bool {
	raw, err := nc.(syscall.Conn).SyscallConn()
	if err != nil {
		return false
	}
	gone := false
	_ = raw.Read(func(fd uintptr) bool {
		g, wait := clientSocketState(fd)
		gone = g
		return g || !wait
	})
	return gone
}
