package proxy

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/testenv"
)

// TestWatchedClientThatStaysGetsItsAnswers: requests that wait long enough
// to be watched are answered normally when their client stays, also when
// the client pipelines its next request (bytes pending on the watched
// socket), and the client connection keeps working afterwards (the watch
// leaves no read deadline behind).
func TestWatchedClientThatStaysGetsItsAnswers(t *testing.T) {
	release := make(chan struct{})
	var slow atomic.Int64
	u := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		if strings.HasPrefix(string(ctx.Path()), "/slow") {
			slow.Add(1)
			<-release
		}
		ctx.SetBodyString("ok " + string(ctx.Path()))
	})
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	tr := NewTransport(Options{ClientWatchDelay: time.Millisecond})
	f := startFront(t, tr.NewRoute(mustService(t, "shop", nil, u.addr), RouteConfig{}))

	c, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, "GET /slow/1 HTTP/1.1\r\nHost: a\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// Let the slow request wait well past the watch delay: until the
	// upstream has it, and then until a second connection's request shows
	// the proxy is free to serve others meanwhile.
	testenv.Eventually(t, 10*time.Second, func() error {
		if slow.Load() == 0 {
			return errNotYet
		}
		return nil
	})
	// The next request, pipelined: it waits unread on the socket the first
	// one's watcher looks at.
	if _, err := io.WriteString(c, "GET /fast/2 HTTP/1.1\r\nHost: a\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if st, _ := get(t, f.addr, "/fast/probe"); st != 200 {
		t.Fatalf("probe: %d", st)
	}
	close(release)
	br := bufio.NewReader(c)
	for _, want := range []string{"ok /slow/1", "ok /fast/2"} {
		h, err := readHead(br)
		if err != nil {
			t.Fatalf("waiting for %q: %v", want, err)
		}
		body, err := readBody(br, h)
		if err != nil || h.status() != 200 || string(body) != want {
			t.Fatalf("got %d %q (%v), want 200 %q", h.status(), body, err, want)
		}
	}
	// The connection still serves requests.
	if _, err := io.WriteString(c, "GET /fast/3 HTTP/1.1\r\nHost: a\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	h, err := readHead(br)
	if err != nil {
		t.Fatal(err)
	}
	if body, err := readBody(br, h); err != nil || string(body) != "ok /fast/3" {
		t.Fatalf("after the watched requests: %d %q %v", h.status(), body, err)
	}
}

// TestClientGoneCancelsTheExchange: at the proxy level, a client that closes
// its connection while its request waits makes Serve return 499 (class
// client) without waiting for the response timeout, closes the upstream
// connection, and does not count against the instance's health — for a
// request with a body too, once the body has been sent.
func TestClientGoneCancelsTheExchange(t *testing.T) {
	for name, raw := range map[string]string{
		"no body": "DELETE /order/1 HTTP/1.1\r\nHost: a\r\n\r\n",
		"body":    "POST /order HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n{\"order\":1}",
		"chunked": "POST /order HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nb\r\n{\"order\":1}\r\n0\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			got := make(chan struct{}, 1)
			closed := make(chan struct{}, 1)
			addr, _ := rawUpstream(t, func(c net.Conn) {
				br := bufio.NewReader(c)
				h, err := readHead(br)
				if err != nil {
					return
				}
				if body, err := readBody(br, h); err != nil || (strings.HasPrefix(h.first, "POST") && string(body) != `{"order":1}`) {
					t.Errorf("upstream got body %q, %v", body, err)
				}
				got <- struct{}{}
				_, _ = io.Copy(io.Discard, br) // never answers
				closed <- struct{}{}
			})
			svc := mustService(t, "shop", nil, addr)
			tr := NewTransport(Options{ClientWatchDelay: time.Millisecond})
			f := startFront(t, tr.NewRoute(svc, RouteConfig{ResponseTimeout: time.Minute}))

			c, err := net.Dial("tcp", f.addr)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.WriteString(c, raw); err != nil {
				t.Fatal(err)
			}
			<-got
			_ = c.Close()
			select {
			case <-closed:
			case <-time.After(20 * time.Second):
				t.Fatal("the upstream connection was not closed after the client left")
			}
			testenv.Eventually(t, 20*time.Second, func() error {
				f.mu.Lock()
				defer f.mu.Unlock()
				if len(f.outs) == 0 {
					return errNotYet
				}
				if out := f.outs[0]; out.Status != StatusClientClosedRequest || out.Class != ClassClient || out.Attempts != 1 {
					t.Fatalf("outcome %+v, want 499 class client after one attempt", out)
				}
				return nil
			})
			if svc.ej.State(0).Failures != 0 {
				t.Fatalf("the instance was blamed for the client leaving: %+v", svc.ej.State(0))
			}
		})
	}
}

// TestNextRequestsAfterAClientLeft: the requests served after one whose
// client left (on the same pooled per-request state) are not taken for
// abandoned ones, with or without a body.
func TestNextRequestsAfterAClientLeft(t *testing.T) {
	got := make(chan struct{}, 1)
	u := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/hang" {
			got <- struct{}{}
			<-ctx.Done() // until the server shuts down
			return
		}
		ctx.SetBodyString("ok")
	})
	tr := NewTransport(Options{ClientWatchDelay: time.Millisecond})
	f := startFront(t, tr.NewRoute(mustService(t, "shop", nil, u.addr), RouteConfig{ResponseTimeout: time.Minute}))
	c, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, "GET /hang HTTP/1.1\r\nHost: a\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	<-got
	_ = c.Close()
	testenv.Eventually(t, 20*time.Second, func() error {
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(f.outs) == 0 {
			return errNotYet
		}
		return nil
	})
	for i := 0; i < 20; i++ {
		if st, body := do(t, f.addr, fasthttp.MethodPost, "/post", []byte(`{"n":1}`)); st != 200 || string(body) != "ok" {
			t.Fatalf("POST %d after a client left: %d %q (%+v)", i, st, body, f.last(t))
		}
		if st, body := get(t, f.addr, "/get"); st != 200 || string(body) != "ok" {
			t.Fatalf("GET %d after a client left: %d %q (%+v)", i, st, body, f.last(t))
		}
	}
}
