package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// idleCloser is an upstream that answers one request per connection without
// "Connection: close" and then closes the connection, as an upstream whose
// keep-alive timeout fired would. It records every request it read.
type idleCloser struct {
	addr   string
	closed chan int // connection numbers, after each close
	mu     sync.Mutex
	seen   []string // "METHOD body" of every request read
	conns  atomic.Int64
}

func startIdleCloser(t *testing.T) *idleCloser {
	t.Helper()
	u := &idleCloser{closed: make(chan int, 16)}
	u.addr, _ = rawUpstream(t, func(c net.Conn) {
		n := int(u.conns.Add(1))
		defer func() {
			_ = c.Close()
			u.closed <- n
		}()
		br := bufio.NewReader(c)
		h, err := readHead(br)
		if err != nil {
			return
		}
		body, err := readBody(br, h)
		if err != nil {
			return
		}
		u.mu.Lock()
		u.seen = append(u.seen, strings.Fields(h.first)[0]+" "+string(body))
		u.mu.Unlock()
		answer := fmt.Sprintf("conn %d got %d bytes", n, len(body))
		_, _ = fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(answer), answer)
	})
	return u
}

func (u *idleCloser) requests() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.seen...)
}

// TestRequestOnAClosedPooledConnIsResent: a request that meets a pooled
// keep-alive connection the upstream has already closed reaches the upstream
// exactly once on a fresh connection, whatever its method and body — the
// upstream cannot have seen it on the closed one — instead of failing
// with 502.
func TestRequestOnAClosedPooledConnIsResent(t *testing.T) {
	u := startIdleCloser(t)
	tr := NewTransport(Options{})
	f := startFront(t, tr.NewRoute(mustService(t, "shop", nil, u.addr), RouteConfig{}))

	big := bytes.Repeat([]byte("b"), 256<<10) // streamed from the client, not buffered
	cases := []struct {
		method string
		body   []byte
	}{
		{fasthttp.MethodGet, nil},
		{fasthttp.MethodPost, []byte(`{"order":1}`)},
		{fasthttp.MethodPatch, []byte(`{"qty":2}`)},
		{fasthttp.MethodPost, nil},
		{fasthttp.MethodPost, big},
	}
	for i, tc := range cases {
		// Wait until the upstream has closed the connection the previous
		// request left in the pool.
		if i > 0 {
			select {
			case <-u.closed:
			case <-time.After(10 * time.Second):
				t.Fatalf("request %d: the upstream did not close its connection", i)
			}
		}
		st, body := do(t, f.addr, tc.method, "/", tc.body)
		want := fmt.Sprintf("conn %d got %d bytes", i+1, len(tc.body))
		if st != 200 || string(body) != want {
			t.Fatalf("%s with %d bytes on a closed pooled connection: %d %q, want 200 %q (%+v)", tc.method, len(tc.body), st, body, want, f.last(t))
		}
	}
	got := u.requests()
	if len(got) != len(cases) {
		t.Fatalf("the upstream read %d requests, want %d (each exactly once)", len(got), len(cases))
	}
	for i, tc := range cases {
		if want := tc.method + " " + string(tc.body); got[i] != want {
			t.Fatalf("request %d reached the upstream as %.40q, want %.40q", i, got[i], want)
		}
	}
}

// TestRequestDroppedAfterSendingIsNotResent: when the upstream reads a
// request on a reused connection and then drops the connection without an
// answer, it may have acted on it: a POST is not sent again (502), a GET is.
func TestRequestDroppedAfterSendingIsNotResent(t *testing.T) {
	var posts atomic.Int64
	addr, _ := rawUpstream(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for i := 0; ; i++ {
			h, err := readHead(br)
			if err != nil {
				return
			}
			if _, err := readBody(br, h); err != nil {
				return
			}
			if strings.HasPrefix(h.first, "POST") {
				posts.Add(1)
			}
			if i > 0 {
				return // the second request on a connection: dropped unanswered
			}
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	tr := NewTransport(Options{})
	f := startFront(t, tr.NewRoute(mustService(t, "shop", nil, addr), RouteConfig{}))
	if st, _ := get(t, f.addr, "/"); st != 200 {
		t.Fatalf("first GET: %d", st)
	}
	st, _ := do(t, f.addr, fasthttp.MethodPost, "/", []byte(`{"pay":1}`))
	if out := f.last(t); st != fasthttp.StatusBadGateway || out.Attempts != 1 || out.Class != ClassReset {
		t.Fatalf("POST dropped after it was sent: %d %+v, want 502 after one attempt", st, out)
	}
	if n := posts.Load(); n != 1 {
		t.Fatalf("the upstream read the POST %d times, want 1", n)
	}
	if st, _ := get(t, f.addr, "/"); st != 200 {
		t.Fatalf("GET after the dropped POST: %d", st)
	}
	// The GET lands on the connection the first GET left pooled... or a
	// fresh one; either way it is answered. Now a GET dropped after sending
	// on a reused connection is replayed.
	if st, _ := get(t, f.addr, "/"); st != 200 {
		t.Fatalf("GET dropped on a reused connection: %d, want it replayed", st)
	}
	if out := f.last(t); out.Attempts != 2 {
		t.Fatalf("outcome %+v, want 2 attempts", out)
	}
}
