package proxy

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func named200(name string) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(name) }
}

func TestRoundRobin(t *testing.T) {
	a := startUpstream(t, named200("a"))
	b := startUpstream(t, named200("b"))
	tr := NewTransport(Options{})
	f := startFront(t, tr.NewRoute(mustService(t, "shop", &RoundRobin{}, a.addr, b.addr), RouteConfig{}))
	var got []string
	for range 4 {
		st, body := get(t, f.addr, "/")
		if st != 200 {
			t.Fatalf("status %d", st)
		}
		got = append(got, string(body))
	}
	if strings.Join(got, "") != "abab" {
		t.Fatalf("order %q, want abab", got)
	}
	if a.requests.Load() != 2 || b.requests.Load() != 2 {
		t.Fatalf("requests a=%d b=%d", a.requests.Load(), b.requests.Load())
	}
}

func TestRetryRefusedGET(t *testing.T) {
	good := startUpstream(t, named200("good"))
	bad := refusedAddr(t)
	tr := NewTransport(Options{})
	f := startFront(t, tr.NewRoute(mustService(t, "shop", fixed(0), bad, good.addr), RouteConfig{}))

	st, body := get(t, f.addr, "/")
	if st != 200 || string(body) != "good" {
		t.Fatalf("GET: %d %q", st, body)
	}
	if out := f.last(t); out.Attempts != 2 || out.Addr != good.addr || out.Class != ClassNone {
		t.Fatalf("outcome %+v", out)
	}
}

func TestNoRetryPOSTWithBody(t *testing.T) {
	good := startUpstream(t, named200("good"))
	bad := refusedAddr(t)
	tr := NewTransport(Options{})
	f := startFront(t, tr.NewRoute(mustService(t, "shop", fixed(0), bad, good.addr), RouteConfig{}))

	st, body := do(t, f.addr, fasthttp.MethodPost, "/", []byte(`{"x":1}`))
	if st != fasthttp.StatusBadGateway {
		t.Fatalf("POST: %d %q", st, body)
	}
	msg, rid := errorBody(t, body)
	if rid != "rid-1" || !strings.Contains(msg, "shop") || !strings.Contains(msg, bad) || strings.Contains(msg, "refused") {
		t.Fatalf("error %q (request id %q): want service and address, no internals", msg, rid)
	}
	if out := f.last(t); out.Attempts != 1 || out.Class != ClassConnect || out.Addr != bad {
		t.Fatalf("outcome %+v", out)
	}
	if n := good.requests.Load(); n != 0 {
		t.Fatalf("good upstream saw %d requests", n)
	}
	// PUT is idempotent but has a body: not retried either.
	st, _ = do(t, f.addr, fasthttp.MethodPut, "/", []byte("x"))
	if st != fasthttp.StatusBadGateway || good.requests.Load() != 0 {
		t.Fatalf("PUT with body: %d, good saw %d", st, good.requests.Load())
	}
}

func TestAllRefused(t *testing.T) {
	tr := NewTransport(Options{})
	f := startFront(t, tr.NewRoute(mustService(t, "shop", nil, refusedAddr(t), refusedAddr(t), refusedAddr(t), refusedAddr(t)), RouteConfig{}))
	st, body := get(t, f.addr, "/")
	if st != fasthttp.StatusBadGateway {
		t.Fatalf("status %d %q", st, body)
	}
	// Failover is bounded by MaxRetries (2): three attempts of four instances.
	if out := f.last(t); out.Attempts != 3 || out.Class != ClassConnect {
		t.Fatalf("outcome %+v", out)
	}
}

func TestNoRetryOnResponseTimeout(t *testing.T) {
	release := make(chan struct{})
	block := func(ctx *fasthttp.RequestCtx) { <-release }
	a := startUpstream(t, block)
	b := startUpstream(t, block)
	t.Cleanup(func() { close(release) })
	tr := NewTransport(Options{})
	f := startFront(t, tr.NewRoute(mustService(t, "shop", nil, a.addr, b.addr), RouteConfig{ResponseTimeout: 200 * time.Millisecond}))

	st, body := get(t, f.addr, "/")
	if st != fasthttp.StatusGatewayTimeout {
		t.Fatalf("status %d %q", st, body)
	}
	if n := a.requests.Load() + b.requests.Load(); n != 1 {
		t.Fatalf("upstreams saw %d requests, want 1", n)
	}
	if out := f.last(t); out.Attempts != 1 || out.Class != ClassTimeout {
		t.Fatalf("outcome %+v", out)
	}
}

func TestNo5xxRetry(t *testing.T) {
	a := startUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(503) })
	b := startUpstream(t, named200("b"))
	tr := NewTransport(Options{})
	f := startFront(t, tr.NewRoute(mustService(t, "shop", fixed(0), a.addr, b.addr), RouteConfig{}))
	if st, _ := get(t, f.addr, "/"); st != 503 || b.requests.Load() != 0 {
		t.Fatalf("status %d, b saw %d", st, b.requests.Load())
	}
	if out := f.last(t); out.Class != ClassNone || out.Status != 503 {
		t.Fatalf("outcome %+v", out)
	}
}

// oneShot answers one request per connection and then closes it without
// "Connection: close", as an upstream does when its keep-alive timeout
// fires between two requests.
func oneShot(c net.Conn) {
	br := bufio.NewReader(c)
	if _, err := readHead(br); err != nil {
		return
	}
	_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
}

func TestStaleKeepAliveRecovery(t *testing.T) {
	addr, accepted := rawUpstream(t, oneShot)
	tr := NewTransport(Options{})
	f := startFront(t, tr.NewRoute(mustService(t, "shop", nil, addr), RouteConfig{}))

	for i := range 3 {
		st, body := get(t, f.addr, "/")
		if st != 200 || string(body) != "ok" {
			t.Fatalf("GET %d: %d %q", i, st, body)
		}
		want := 1
		if i > 0 {
			want = 2 // the pooled connection was stale: replayed on a fresh one
		}
		if out := f.last(t); out.Attempts != want {
			t.Fatalf("GET %d: outcome %+v, want %d attempts", i, out, want)
		}
	}
	if n := accepted.Load(); n != 3 {
		t.Fatalf("upstream accepted %d connections, want 3", n)
	}
	// Other methods: TestRequestOnAClosedPooledConnIsResent and
	// TestRequestDroppedAfterSendingIsNotResent.
}

// A fresh connection that fails is not replayed, even for GET.
func TestFreshConnFailureNotReplayed(t *testing.T) {
	addr, accepted := rawUpstream(t, func(c net.Conn) {
		_, _ = readHead(bufio.NewReader(c))
	})
	tr := NewTransport(Options{})
	f := startFront(t, tr.NewRoute(mustService(t, "shop", nil, addr), RouteConfig{}))
	st, _ := get(t, f.addr, "/")
	if out := f.last(t); st != fasthttp.StatusBadGateway || out.Attempts != 1 || out.Class != ClassReset {
		t.Fatalf("status %d outcome %+v", st, out)
	}
	if accepted.Load() != 1 {
		t.Fatalf("accepted %d", accepted.Load())
	}
}

func TestBadResponse(t *testing.T) {
	addr, _ := rawUpstream(t, func(c net.Conn) {
		if _, err := readHead(bufio.NewReader(c)); err != nil {
			return
		}
		_, _ = c.Write([]byte("HTTP/1.1 abc\r\n\r\n"))
	})
	tr := NewTransport(Options{})
	f := startFront(t, tr.NewRoute(mustService(t, "shop", nil, addr), RouteConfig{}))
	if st, _ := get(t, f.addr, "/"); st != fasthttp.StatusBadGateway {
		t.Fatalf("status %d", st)
	}
}

func TestServiceValidation(t *testing.T) {
	for _, cfg := range []ServiceConfig{
		{Name: "", Instances: []string{"127.0.0.1:1"}},
		{Name: "s"},
		{Name: "s", Instances: []string{"nohost"}},
		{Name: "s", Instances: []string{":80"}},
		{Name: "s", Instances: []string{"h:0"}},
		{Name: "s", Instances: []string{"h:1", "h:1"}},
	} {
		if _, err := NewService(cfg); err == nil || !strings.HasPrefix(err.Error(), "cannot ") {
			t.Errorf("%+v: err %v", cfg, err)
		}
	}
	s := mustService(t, "s", nil, "h:1", "[::1]:2")
	if s.Name() != "s" || len(s.Instances()) != 2 {
		t.Fatal(s)
	}
}

func TestHTTP10WithoutHost(t *testing.T) {
	heads := make(chan rawHead, 1)
	addr, _ := rawUpstream(t, func(c net.Conn) {
		h, err := readHead(bufio.NewReader(c))
		if err != nil {
			return
		}
		heads <- h
		_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	})
	tr := NewTransport(Options{})
	f := startFront(t, tr.NewRoute(mustService(t, "shop", nil, addr), RouteConfig{}))
	resp, body := roundTrip(t, f.addr, "GET /x HTTP/1.0\r\n\r\n")
	if resp.status() != 200 || string(body) != "ok" {
		t.Fatalf("%d %q", resp.status(), body)
	}
	up := <-heads
	if up.first != "GET /x HTTP/1.1" || up.get("Host") != addr {
		t.Fatalf("upstream got %q Host %q", up.first, up.get("Host"))
	}
}

// TestConcurrentStreaming mixes small (buffered) and large (streamed)
// responses from many goroutines, for the race detector.
func TestConcurrentStreaming(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 16<<10) // 256 KiB
	u := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/big" {
			ctx.SetBodyString(big)
			return
		}
		ctx.SetBodyString("small")
	})
	tr := NewTransport(Options{})
	f := startFront(t, tr.NewRoute(mustService(t, "shop", nil, u.addr), RouteConfig{}))
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for i := range 25 {
				path, want := "/small", "small"
				if (g+i)%2 == 0 {
					path, want = "/big", big
				}
				req.SetRequestURI("http://" + f.addr + path)
				if err := fasthttp.DoTimeout(req, resp, 10*time.Second); err != nil {
					errs <- err.Error()
					return
				}
				if resp.StatusCode() != 200 || string(resp.Body()) != want {
					errs <- fmt.Sprintf("%s: status %d, %d bytes", path, resp.StatusCode(), len(resp.Body()))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// A client that goes away mid-body must not leave a half-read upstream
// connection in the pool.
func TestClientAbortsStreamedBody(t *testing.T) {
	big := strings.Repeat("x", 16<<20)
	u := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/big" {
			ctx.SetBodyString(big)
			return
		}
		ctx.SetBodyString("small")
	})
	tr := NewTransport(Options{})
	f := startFront(t, tr.NewRoute(mustService(t, "shop", nil, u.addr), RouteConfig{}))

	c, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = c.Write([]byte("GET /big HTTP/1.1\r\nHost: h\r\n\r\n"))
	h, err := readHead(bufio.NewReader(c))
	if err != nil || h.status() != 200 {
		t.Fatalf("%v %d", err, h.status())
	}
	c.Close()

	for range 5 {
		if st, body := get(t, f.addr, "/small"); st != 200 || string(body) != "small" {
			t.Fatalf("after abort: %d %q", st, body)
		}
	}
}
