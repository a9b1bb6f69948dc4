package proxy

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

// socketPair returns the two ends of a loopback TCP connection: the
// gateway's side (accepted) and the client's.
func socketPair(t *testing.T) (gateway, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	gateway = <-accepted
	if gateway == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { _ = gateway.Close(); _ = client.Close() })
	return gateway, client
}

// TestWatchReArmedWhileItsTimerIsPending: the watch timer is left to lapse
// after a fast request; a request that reuses the call before it fires is
// still watched — a client that leaves is noticed — and a watch that
// disarms while its watcher runs waits for it and leaves the connection
// usable (no read deadline behind).
func TestWatchReArmedWhileItsTimerIsPending(t *testing.T) {
	const delay = 50 * time.Millisecond
	c := NewTransport(Options{}).getCall()

	// A fast request: armed and disarmed at once, its timer still pending.
	first, _ := socketPair(t)
	c.watch.arm(first, delay, time.Now())
	c.watch.disarm()

	// The next request on the same call, whose client leaves.
	gw, client := socketPair(t)
	c.watch.arm(gw, delay, time.Now())
	_ = client.Close()
	testenv.Eventually(t, 5*time.Second, func() error {
		if !c.watch.gone.Load() {
			return errors.New("the client's close is not noticed")
		}
		return nil
	})
	c.watch.disarm()

	// A request whose client stays, disarmed while the watcher waits on the
	// socket: disarm returns, gone stays false, and the socket still reads.
	gw, client = socketPair(t)
	c.watch.arm(gw, delay, time.Now())
	testenv.Eventually(t, 5*time.Second, func() error {
		c.watch.mu.Lock()
		defer c.watch.mu.Unlock()
		if !c.watch.running {
			return errors.New("the watcher has not started")
		}
		return nil
	})
	c.watch.disarm()
	if c.watch.gone.Load() {
		t.Fatal("a client that stayed is reported gone")
	}
	if _, err := client.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	var b [1]byte
	if n, err := gw.Read(b[:]); n != 1 || err != nil {
		t.Fatalf("the watched socket reads %d bytes, %v after disarm", n, err)
	}
}
