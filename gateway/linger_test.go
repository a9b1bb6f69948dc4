package gateway

import (
	"net"
	"testing"
	"time"
)

// TestLingeringEndsWhenTheListenerCloses: a connection lingering on a
// client that keeps sending (here for up to an hour) stops at once when the
// gateway closes its listener at shutdown, so lingering never holds a
// goroutine and a socket past a graceful shutdown.
func TestLingeringEndsWhenTheListenerCloses(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newLingerListener(raw, true, time.Hour, 1<<40)
	lingering := make(chan struct{})
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		markLinger(c)
		close(lingering)
		_ = c.Close()
	}()
	c, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	closed := make(chan error, 1)
	go func() {
		b := make([]byte, 4096)
		for {
			if _, err := c.Write(b); err != nil {
				closed <- err
				return
			}
		}
	}()
	<-lingering
	// The server half-closed: the client reads EOF while it can still send.
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("want EOF from the half-closed side, got %d %v", n, err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the connection still lingers after the listener closed")
	}
}
