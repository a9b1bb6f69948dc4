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

// TestIdleConnWithUnsolicitedBytesIsNotReused: an upstream that sends bytes
// on a keep-alive connection after its answer (a second response nobody
// asked for, the tail of a mis-framed body, a "408" before closing) has left
// the connection out of step: a request written on it would get those bytes
// as its answer — another request's answer, for all the proxy can tell. Such
// a connection is never used again, whatever the method of the next request
// (a GET as much as a POST), and whether the bytes came with the answer
// (read along with it) or later, while the connection was idle in the pool
// (found by the look at a reused connection before writing on it).
func TestIdleConnWithUnsolicitedBytesIsNotReused(t *testing.T) {
	for _, tc := range []struct {
		name          string
		later, stream bool
	}{
		{"with the answer", false, false},
		{"with a streamed answer", false, true},
		{"while idle", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{}
			if tc.stream {
				opts.BufferResponseBytes = -1 // every answer streamed to the client
			}
			testUnsolicitedBytes(t, opts, tc.later)
		})
	}
}

func testUnsolicitedBytes(t *testing.T, opts Options, later bool) {
	const stray = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray"
	answered := make(chan struct{}, 16) // the client has its answer
	strayed := make(chan int, 16)
	var conns atomic.Int64
	addr, _ := rawUpstream(t, func(c net.Conn) {
		n := conns.Add(1)
		br := bufio.NewReader(c)
		for i := 0; ; i++ {
			h, err := readHead(br)
			if err != nil {
				return
			}
			if _, err := readBody(br, h); err != nil {
				return
			}
			answer := fmt.Sprintf("conn %d", n)
			out := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(answer), answer)
			if i == 0 && !later {
				out += stray // one write: read with the answer, or right after it
			}
			if _, err := io.WriteString(c, out); err != nil {
				return
			}
			if i == 0 {
				if later {
					// The proxy has read the answer and pooled the
					// connection: the bytes arrive while it is idle.
					select {
					case <-answered:
					case <-time.After(10 * time.Second):
						return
					}
					_, _ = io.WriteString(c, stray)
				}
				strayed <- int(n)
			}
		}
	})
	tr := NewTransport(opts)
	f := startFront(t, tr.NewRoute(mustService(t, "shop", nil, addr), RouteConfig{}))
	methods := []string{fasthttp.MethodGet, fasthttp.MethodGet, fasthttp.MethodHead, fasthttp.MethodPost}
	for i, method := range methods {
		var body []byte
		if method == fasthttp.MethodPost {
			body = []byte(`{"order":1}`)
		}
		st, got := do(t, f.addr, method, "/", body)
		want := fmt.Sprintf("conn %d", i+1)
		if method == fasthttp.MethodHead {
			want = ""
		}
		if st != 200 || string(got) != want {
			t.Fatalf("%s %d after unsolicited bytes on the pooled connection: %d %q, want 200 %q (%+v)", method, i, st, got, want, f.last(t))
		}
		answered <- struct{}{}
		select {
		case <-strayed:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s %d: the upstream did not send its stray bytes", method, i)
		}
	}
	if n := conns.Load(); n != int64(len(methods)) {
		t.Fatalf("the upstream accepted %d connections, want %d (none reused after stray bytes)", n, len(methods))
	}
}
