package gateway_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/gateway"
)

// keepAliveGet sends one GET on c and reads its answer's status line and
// headers and body (the echo functions' answers are small).
func keepAliveGet(t *testing.T, c net.Conn, br *bufio.Reader) {
	t.Helper()
	if _, err := io.WriteString(c, "GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 200") {
		t.Fatalf("status line %q, %v", line, err)
	}
	n := 0
	for {
		h, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if h == "\r\n" {
			break
		}
		if v, ok := strings.CutPrefix(strings.ToLower(h), "content-length: "); ok {
			for _, d := range strings.TrimSpace(v) {
				n = n*10 + int(d-'0')
			}
		}
	}
	if _, err := io.ReadFull(br, make([]byte, n)); err != nil {
		t.Fatal(err)
	}
}

// waitClosed waits (at most 10 s) until the server ends c: it reads EOF or
// a reset, perhaps after an answer such as a 408.
func waitClosed(t *testing.T, c net.Conn, br *bufio.Reader, what string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, br)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: the gateway did not close the connection within 10 s", what)
	}
}

// TestKeepAliveTimeouts: the client connection's deadlines (applied lazily
// and coalesced, see deadline.go) still end a kept-alive connection that
// stays idle past the idle timeout, and one whose next request stalls
// halfway past the read timeout, after many requests on it.
func TestKeepAliveTimeouts(t *testing.T) {
	t.Parallel()
	t.Run("idle", func(t *testing.T) {
		t.Parallel()
		g := start(t, gateway.Options{IdleTimeout: 300 * time.Millisecond, ReadTimeout: time.Hour, WriteTimeout: time.Hour})
		c, err := net.Dial("tcp", g.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		br := bufio.NewReader(c)
		for range 50 {
			keepAliveGet(t, c, br)
		}
		waitClosed(t, c, br, "idle connection")
	})
	t.Run("stalled request", func(t *testing.T) {
		t.Parallel()
		g := start(t, gateway.Options{IdleTimeout: time.Hour, ReadTimeout: 300 * time.Millisecond, WriteTimeout: time.Hour})
		c, err := net.Dial("tcp", g.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		br := bufio.NewReader(c)
		for range 50 {
			keepAliveGet(t, c, br)
		}
		if _, err := io.WriteString(c, "GET /api/x HTTP/1.1\r\nHost: a\r\nX-Slow: "); err != nil {
			t.Fatal(err)
		}
		waitClosed(t, c, br, "stalled request")
	})
}
