package proxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// front is a gateway-like fasthttp server (StreamRequestBody on) serving one
// swappable route and recording outcomes.
type front struct {
	addr    string
	route   atomic.Pointer[Route]
	trusted atomic.Bool
	mu      sync.Mutex
	outs    []Outcome
}

func startFront(t *testing.T, r *Route) *front {
	t.Helper()
	f := &front{}
	f.route.Store(r)
	f.addr = serve(t, &fasthttp.Server{
		StreamRequestBody: true,
		Handler: func(ctx *fasthttp.RequestCtx) {
			out := f.route.Load().Serve(ctx, Input{RequestID: "rid-1", TrustedPeer: f.trusted.Load()})
			f.mu.Lock()
			f.outs = append(f.outs, out)
			f.mu.Unlock()
		},
	})
	return f
}

func (f *front) last(t *testing.T) Outcome {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.outs) == 0 {
		t.Fatal("no outcome recorded")
	}
	return f.outs[len(f.outs)-1]
}

// serve runs srv on a loopback port until the test ends.
func serve(t *testing.T, srv *fasthttp.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.ShutdownWithContext(ctx)
		_ = ln.Close()
		<-done
	})
	return ln.Addr().String()
}

// upstream is a fasthttp server counting the connections it accepted.
type upstream struct {
	addr     string
	accepted atomic.Int64
	requests atomic.Int64
}

func startUpstream(t *testing.T, h fasthttp.RequestHandler) *upstream {
	t.Helper()
	u := &upstream{}
	srv := &fasthttp.Server{
		StreamRequestBody: true,
		Handler: func(ctx *fasthttp.RequestCtx) {
			u.requests.Add(1)
			h(ctx)
		},
		ConnState: func(_ net.Conn, s fasthttp.ConnState) {
			if s == fasthttp.StateNew {
				u.accepted.Add(1)
			}
		},
	}
	u.addr = serve(t, srv)
	return u
}

// rawUpstream accepts TCP connections and hands each to handle.
func rawUpstream(t *testing.T, handle func(c net.Conn)) (addr string, accepted *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted = new(atomic.Int64)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String(), accepted
}

// refusedAddr is a loopback address nothing listens on.
func refusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// rawHead is a parsed request or response head that keeps every header
// line as sent.
type rawHead struct {
	first   string
	headers [][2]string
}

func (h rawHead) values(name string) []string {
	var out []string
	for _, kv := range h.headers {
		if strings.EqualFold(kv[0], name) {
			out = append(out, kv[1])
		}
	}
	return out
}

func (h rawHead) get(name string) string {
	if v := h.values(name); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (h rawHead) status() int {
	f := strings.Fields(h.first)
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

func readHead(br *bufio.Reader) (rawHead, error) {
	var h rawHead
	for i := 0; ; i++ {
		line, err := br.ReadString('\n')
		if err != nil {
			return h, err
		}
		line = strings.TrimRight(line, "\r\n")
		if i == 0 {
			h.first = line
			continue
		}
		if line == "" {
			return h, nil
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return h, fmt.Errorf("bad header line %q", line)
		}
		h.headers = append(h.headers, [2]string{k, strings.TrimSpace(v)})
	}
}

// readBody reads a body framed by h's Content-Length or chunked coding.
func readBody(br *bufio.Reader, h rawHead) ([]byte, error) {
	if strings.EqualFold(h.get("Transfer-Encoding"), "chunked") {
		return io.ReadAll(httputil.NewChunkedReader(br))
	}
	cl := h.get("Content-Length")
	if cl == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(cl)
	if err != nil {
		return nil, err
	}
	b := make([]byte, n)
	_, err = io.ReadFull(br, b)
	return b, err
}

// roundTrip sends raw to addr and reads one response.
func roundTrip(t *testing.T, addr, raw string) (rawHead, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	h, err := readHead(br)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(raw, "HEAD ") {
		return h, nil
	}
	body, err := readBody(br, h)
	if err != nil {
		t.Fatal(err)
	}
	return h, body
}

// get sends a GET through the front with fasthttp's client.
func get(t *testing.T, addr, path string) (int, []byte) {
	t.Helper()
	return do(t, addr, fasthttp.MethodGet, path, nil)
}

func do(t *testing.T, addr, method, path string, body []byte) (int, []byte) {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + addr + path)
	req.Header.SetMethod(method)
	if body != nil {
		req.SetBody(body)
	}
	if err := fasthttp.DoTimeout(req, resp, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode(), bytes.Clone(resp.Body())
}

func mustService(t testing.TB, name string, picker Picker, addrs ...string) *Service {
	t.Helper()
	s, err := NewService(ServiceConfig{Name: name, Instances: addrs, Picker: picker})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fixed is a Picker that always starts at one index.
type fixed int

func (f fixed) Pick(int) int { return int(f) }

// errorBody decodes a JSON error answer.
func errorBody(t *testing.T, b []byte) (msg, rid string) {
	t.Helper()
	var v struct {
		Error     string `json:"error"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("error body %q: %v", b, err)
	}
	return v.Error, v.RequestID
}
