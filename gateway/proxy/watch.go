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
// watcher; a fast request costs a timer reset and stop, no goroutine and no
// system call. A watcher that sees the client gone closes the upstream
// connection of the exchange in flight, so the exchange fails at once and
// Serve returns, releasing the request's concurrency slots.
//
// The watcher runs in the timer's goroutine and holds the connection's read
// lock while it waits; disarm wakes it with a past read deadline and waits
// for it, then clears the deadline (fasthttp's server sets its own before
// it reads the next request, when it uses one at all).
type clientWatch struct {
	timer *time.Timer // runs c.fireWatch; created with the call
	armed bool        // only Serve's goroutine touches it
	gone  atomic.Bool
	done  chan struct{} // one signal per fired timer, when fireWatch ends

	mu      sync.Mutex
	nc      net.Conn // the client's connection (a socket)
	stopped bool     // disarm ran: the watcher must not start, or must end
	running bool
}

func (w *clientWatch) init(fire func()) {
	w.timer = time.AfterFunc(time.Hour, fire)
	w.timer.Stop()
	w.done = make(chan struct{}, 1)
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

// arm starts the watch of conn: a watcher starts after delay unless disarm
// comes first.
func (w *clientWatch) arm(conn net.Conn, delay time.Duration) {
	w.gone.Store(false)
	if delay <= 0 {
		return
	}
	nc := watchable(conn)
	if nc == nil {
		return
	}
	w.mu.Lock()
	w.nc, w.stopped = nc, false
	w.mu.Unlock()
	w.armed = true
	w.timer.Reset(delay)
}

// disarm ends the watch and waits for a running watcher to finish; after it
// returns, gone is final and no watcher of this arm can start.
func (w *clientWatch) disarm() {
	if !w.armed {
		return
	}
	w.armed = false
	stopped := w.timer.Stop()
	w.mu.Lock()
	w.stopped = true
	running, nc := w.running, w.nc
	w.nc = nil
	w.mu.Unlock()
	if stopped {
		return // the watcher never runs
	}
	// The timer fired: fireWatch runs (or ran) exactly once and signals done.
	if running {
		_ = nc.SetReadDeadline(time.Unix(1, 0))
	}
	<-w.done
	if running {
		_ = nc.SetReadDeadline(time.Time{})
	}
}

// fireWatch is the watcher: it waits until the client goes away (then
// cancels the upstream exchange) or disarm wakes it.
func (c *call) fireWatch() {
	w := &c.watch
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		w.done <- struct{}{}
		return
	}
	w.running = true
	nc := w.nc
	w.mu.Unlock()

	if clientClosed(nc) {
		w.gone.Store(true)
		c.cancelUpstream()
	}

	w.mu.Lock()
	w.running = false
	w.mu.Unlock()
	w.done <- struct{}{}
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
