package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/acl"
	"github.com/wharfhq/wharf/gateway/edge"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/internal/bodylimit"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store/buntstore"
	"github.com/wharfhq/wharf/internal/testenv"
)

// smuggleMark is the path of the request hidden in attack bodies; neither a
// function nor an upstream may ever see it.
const smuggleMark = "/smuggled"

// seen records the paths a function or an upstream was asked for.
type seen struct {
	mu    sync.Mutex
	paths []string
}

func (s *seen) add(p string) {
	s.mu.Lock()
	s.paths = append(s.paths, p)
	s.mu.Unlock()
}

func (s *seen) smuggled() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, p := range s.paths {
		if strings.Contains(p, smuggleMark) {
			out = append(out, p)
		}
	}
	return out
}

// earlyFunctions answers some paths before reading the body, the way an
// authorization or validation failure of a real function does.
type earlyFunctions struct{ seen *seen }

func (earlyFunctions) HasFunction(string) bool { return true }

func (f earlyFunctions) ServeFunction(_ string, ctx *fasthttp.RequestCtx, rid string, maxBody int64) bool {
	p := string(ctx.Path())
	f.seen.add(p)
	switch {
	case strings.HasSuffix(p, "/unauthorized"):
		httperr.Write(ctx, nil, rid, httperr.New(fasthttp.StatusUnauthorized, "missing bearer token"))
	case strings.HasSuffix(p, "/fail"):
		httperr.Write(ctx, nil, rid, httperr.New(fasthttp.StatusInternalServerError, "function failed"))
	default:
		if he := bodylimit.Read(ctx, maxBody); he != nil {
			httperr.Write(ctx, nil, rid, he)
			return true
		}
		ctx.SetBodyString("ok")
	}
	return true
}

// smuggleBed is a gateway with every kind of early answer configured, a
// function set and an upstream that record what they are asked.
type smuggleBed struct {
	addr     string
	fnSeen   *seen
	upSeen   *seen
	holdDone chan struct{}
}

func startSmuggleBed(t *testing.T) *smuggleBed {
	t.Helper()
	b := &smuggleBed{fnSeen: &seen{}, upSeen: &seen{}, holdDone: make(chan struct{})}
	held := make(chan struct{}, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.upSeen.add(r.URL.Path)
		switch {
		case strings.HasSuffix(r.URL.Path, "/early"):
			// Answer without reading the body, as upstreams that refuse
			// a request do.
			w.WriteHeader(http.StatusForbidden)
			return
		case strings.HasSuffix(r.URL.Path, "/hold"):
			held <- struct{}{}
			<-b.holdDone
		}
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "up")
	})}
	go func() { _ = up.Serve(ln) }()
	t.Cleanup(func() { _ = up.Close() })

	fn := func(name, path string) config.RouteConfig {
		return config.RouteConfig{Name: name, Path: path, Function: "api"}
	}
	e := config.Edge{
		ACL: config.ACLConfig{Deny: []string{"203.0.113.1"}},
		Limits: []config.LimitConfig{
			{Name: "slow", Key: "ip", Rate: "1r/m"},
			{Name: "one", Key: "ip", Conn: 1},
		},
		Services: []config.ServiceConfig{
			{Name: "up", Instances: []config.InstanceConfig{{Addr: ln.Addr().String()}}},
			{Name: "empty"},
		},
		Routes: []config.RouteConfig{
			fn("api", "/api/"),
			fn("smuggled", smuggleMark),
			{Name: "small", Path: "/small/", Function: "api", MaxBody: 1024},
			{Name: "getonly", Path: "/getonly/", Function: "api", Methods: []string{"GET"}},
			{Name: "private", Path: "/private/", Function: "api", ACL: config.ACLConfig{Deny: []string{"203.0.113.2"}}},
			{Name: "banned", Path: "/banned/", Function: "api"},
			{Name: "limited", Path: "/limited/", Function: "api", Limits: []string{"slow"}},
			{Name: "conn", Path: "/conn/", Service: "up", Limits: []string{"one"}},
			{Name: "nosvc", Path: "/nosvc/", Service: "empty"},
			{Name: "up", Path: "/up/", Service: "up"},
			{Name: "upsmall", Path: "/upsmall/", Service: "up", MaxBody: 1024},
		},
	}
	st, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := edge.New(st, edge.Options{}).Seed(context.Background(), e, "test"); err != nil {
		t.Fatal(err)
	}
	bm, err := acl.NewBanManager(acl.BanManagerOptions{}, st)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := bm.Ban(ctx, netip.MustParsePrefix("203.0.113.3/32"), time.Hour, "test", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := bm.BanWith(ctx, acl.BanRequest{Prefix: netip.MustParsePrefix("203.0.113.4/32"), TTL: time.Hour, Route: "banned", By: "test"}); err != nil {
		t.Fatal(err)
	}
	g := gatewaytest.Start(t, gateway.Options{
		Store: st, Edge: e, MaxBodyBytes: 4 << 20,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	}, earlyFunctions{seen: b.fnSeen})
	b.addr = g.Addr().String()
	// Cleanups run last-in first-out: let the held request finish before
	// the gateway drains.
	t.Cleanup(func() { close(b.holdDone) })
	testenv.Eventually(t, 2*time.Second, func() error {
		r := gatewaytest.Do(t, b.addr, "GET", "/api/x", map[string]string{"X-Forwarded-For": "203.0.113.3"}, "")
		if r.Status != 403 {
			return fmt.Errorf("global ban not in effect yet: %d", r.Status)
		}
		r = gatewaytest.Do(t, b.addr, "GET", "/banned/x", map[string]string{"X-Forwarded-For": "203.0.113.4"}, "")
		if r.Status != 403 {
			return fmt.Errorf("route ban not in effect yet: %d", r.Status)
		}
		return nil
	})
	// Use up the rate limit of the client that gets 429s.
	if r := gatewaytest.Do(t, b.addr, "GET", "/limited/x", map[string]string{"X-Forwarded-For": "203.0.113.5"}, ""); r.Status != 200 {
		t.Fatalf("first limited request: %d %s", r.Status, r.Body)
	}
	// Hold the one concurrency slot of the client that gets 503s.
	go func() {
		c := &fasthttp.Client{}
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.SetRequestURI("http://" + b.addr + "/conn/hold")
		req.Header.Set("X-Forwarded-For", "203.0.113.6")
		_ = c.DoTimeout(req, resp, 30*time.Second)
	}()
	select {
	case <-held:
	case <-time.After(10 * time.Second):
		t.Fatal("the slot-holding request never reached the upstream")
	}
	return b
}

// earlyExit is one way the gateway answers before reading a request body.
type earlyExit struct {
	name, method, path, xff string
	status                  int
	// below is a body size up to which the request is not refused (a
	// body limit's size); smaller bodies are answered 200.
	below int
}

var earlyExits = []earlyExit{
	{"401 function auth", "POST", "/api/unauthorized", "", 401, 0},
	{"500 function error", "POST", "/api/fail", "", 500, 0},
	{"403 global acl", "POST", "/api/x", "203.0.113.1", 403, 0},
	{"403 global ban", "POST", "/api/x", "203.0.113.3", 403, 0},
	{"403 route acl", "POST", "/private/x", "203.0.113.2", 403, 0},
	{"403 route ban", "POST", "/banned/x", "203.0.113.4", 403, 0},
	{"404 no route", "POST", "/nowhere", "", 404, 0},
	{"405 method", "POST", "/getonly/x", "", 405, 0},
	{"413 function limit", "POST", "/small/x", "", 413, 1024},
	{"413 proxy limit", "POST", "/upsmall/x", "", 413, 1024},
	{"429 rate limit", "POST", "/limited/x", "203.0.113.5", 429, 0},
	{"503 concurrency", "POST", "/conn/x", "203.0.113.6", 503, 0},
	{"503 no instances", "POST", "/nosvc/x", "", 503, 0},
	{"403 upstream early", "POST", "/up/early", "", 403, 0},
}

// attackBody is size bytes that, read from any offset short of its last
// line, parse as a request for smuggleMark: a run of 'A' (the method) then
// the rest of a request line and its head.
func attackBody(size int) string {
	tail := " " + smuggleMark + " HTTP/1.1\r\nHost: victim\r\n\r\n"
	if size <= len(tail) {
		return strings.Repeat("A", size)
	}
	return strings.Repeat("A", size-len(tail)) + tail
}

// sendAttack writes one request with an attack body (chunked or with a
// Content-Length) and then a plain request on the same connection, and
// reads until the gateway closes the connection. It returns the status
// lines it read.
func sendAttack(t *testing.T, addr string, ex earlyExit, size int, chunked bool) []string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body := attackBody(size)
	var head strings.Builder
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: shop\r\nContent-Type: text/plain\r\n", ex.method, ex.path)
	if ex.xff != "" {
		fmt.Fprintf(&head, "X-Forwarded-For: %s\r\n", ex.xff)
	}
	var msg string
	if chunked {
		msg = head.String() + "Transfer-Encoding: chunked\r\n\r\n" + fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body)
	} else {
		msg = head.String() + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)) + body
	}
	msg += "GET /api/after HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n"
	go func() { _, _ = io.WriteString(c, msg) }()
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	var statuses []string
	br := bufio.NewReader(c)
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("%s: the gateway neither answered nor closed within 20s (got %v)", ex.name, statuses)
			}
			return statuses
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		statuses = append(statuses, resp.Status)
	}
}

// TestEarlyAnswersNeverParseTheBodyAsRequests sends, for every way the
// gateway answers before reading a body, bodies of 1 B to 1 MiB that hold
// a request, with Content-Length and chunked: the hidden request must
// never reach a function or an upstream, and the first answer is the
// early one.
func TestEarlyAnswersNeverParseTheBodyAsRequests(t *testing.T) {
	b := startSmuggleBed(t)
	sizes := []int{1, 100, 4 << 10, 9 << 10, 16 << 10, 64 << 10, 300 << 10, 1 << 20}
	for _, ex := range earlyExits {
		for _, size := range sizes {
			for _, chunked := range []bool{false, true} {
				st := sendAttack(t, b.addr, ex, size, chunked)
				want := ex.status
				if size <= ex.below {
					want = 200
				}
				if len(st) == 0 || !strings.HasPrefix(st[0], fmt.Sprint(want)) {
					t.Errorf("%s, %d B, chunked=%v: first answer %v, want %d", ex.name, size, chunked, st, want)
				}
				// A small body is discarded and the connection kept,
				// unless the answer closes it anyway (a body limit).
				if keeps := ex.below == 0 && ex.path != "/up/early"; keeps && size <= 16<<10 && len(st) != 2 {
					t.Errorf("%s, %d B, chunked=%v: want the early answer and the next request's, got %v", ex.name, size, chunked, st)
				}
				for _, s := range st[1:] {
					if !strings.HasPrefix(s, "200") {
						t.Errorf("%s, %d B, chunked=%v: a later answer on the connection is %q (answers %v)", ex.name, size, chunked, s, st)
					}
				}
			}
		}
		if got := b.fnSeen.smuggled(); len(got) > 0 {
			t.Fatalf("%s: a smuggled request reached a function: %v", ex.name, got)
		}
		if got := b.upSeen.smuggled(); len(got) > 0 {
			t.Fatalf("%s: a smuggled request reached an upstream: %v", ex.name, got)
		}
	}
}

// TestLingeringNeverHoldsUpShutdown: a client that keeps sending a body the
// gateway refused is read and dropped while the connection lingers, but a
// graceful shutdown ends the lingering at once.
func TestLingeringNeverHoldsUpShutdown(t *testing.T) {
	g, err := gateway.New(gateway.Options{Listen: "127.0.0.1:0", LingerTimeout: time.Hour, MaxBodyBytes: 1 << 30}, earlyFunctions{seen: &seen{}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.Run() }()
	c, err := net.Dial("tcp", g.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /api/unauthorized HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n", 1<<30)
	stop := make(chan struct{})
	defer close(stop)
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		chunk := make([]byte, 4<<10)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := c.Write(chunk); err != nil {
				return // the gateway closed the connection
			}
		}
	}()
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("want the 401 while the body is still coming: %v %v", resp, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown waited for a lingering connection: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the connection still lingers after the gateway shut down")
	}
}
