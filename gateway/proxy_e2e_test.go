package gateway_test

import (
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/testenv"
)

// upstream is a real HTTP server on a loopback port that answers with its
// name and records what it received.
type upstream struct {
	name  string
	addr  string
	hits  atomic.Int64
	delay time.Duration
	last  atomic.Pointer[string] // "header: value" lines of the last request
	// unhealthy makes /healthz answer 503.
	unhealthy atomic.Bool
}

func startUpstream(t *testing.T, name string) *upstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &upstream{name: name, addr: ln.Addr().String()}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/healthz" {
			if u.unhealthy.Load() {
				ctx.SetStatusCode(503)
			}
			return
		}
		u.hits.Add(1)
		var b strings.Builder
		for k, v := range ctx.Request.Header.All() {
			b.WriteString(strings.ToLower(string(k)) + ": " + string(v) + "\n")
		}
		s := b.String()
		u.last.Store(&s)
		if u.delay > 0 {
			time.Sleep(u.delay)
		}
		ctx.Response.Header.Set("Connection", "X-Secret")
		ctx.Response.Header.Set("X-Secret", "hop")
		ctx.SetBodyString(u.name + " " + string(ctx.Path()))
	}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return u
}

func (u *upstream) header(name string) string {
	p := u.last.Load()
	if p == nil {
		return ""
	}
	for _, l := range strings.Split(*p, "\n") {
		if k, v, ok := strings.Cut(l, ": "); ok && k == strings.ToLower(name) {
			return v
		}
	}
	return ""
}

func TestRoutesToServicesRoundRobinAndHeaders(t *testing.T) {
	a, b, c := startUpstream(t, "a"), startUpstream(t, "b"), startUpstream(t, "c")
	n := startEdge(t, config.Edge{
		Services: []config.ServiceConfig{
			{Name: "shop", Instances: []config.InstanceConfig{{Addr: a.addr}, {Addr: b.addr}}},
			{Name: "blog", Instances: []config.InstanceConfig{{Addr: c.addr}}},
		},
		Routes: []config.RouteConfig{
			{Name: "shop", Host: "shop.example.com", Path: "/", Service: "shop"},
			{Name: "blog", Host: "*.blog.example.com", Path: "/posts/", Service: "blog", Methods: []string{"GET"}},
		},
	}, false)
	get := func(host, path string) gatewaytest.Response {
		return gatewaytest.Do(t, n.addr, "GET", path, map[string]string{"Host": host, "Connection": "keep-alive, X-Drop", "X-Drop": "x", "X-Forwarded-For": "6.6.6.6",
			"X-Real-IP": "6.6.6.6", "True-Client-IP": "6.6.6.6", "CF-Connecting-IP": "6.6.6.6", "Forwarded": "for=6.6.6.6"}, "")
	}
	seen := map[string]int{}
	for i := 0; i < 20; i++ {
		r := get("shop.example.com", "/cart")
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		seen[strings.Fields(r.String())[0]]++
		if r.Get("X-Secret") != "" {
			t.Fatal("a header named in the upstream's Connection reached the client")
		}
	}
	// The default choice is the less loaded of two (P2C); sequential
	// requests tie, so both instances must get traffic.
	if seen["a"] == 0 || seen["b"] == 0 || seen["a"]+seen["b"] != 20 {
		t.Fatalf("balancing: %v", seen)
	}
	if got := a.header("X-Drop"); got != "" {
		t.Fatalf("a header named in Connection reached the upstream: %q", got)
	}
	if got := a.header("X-Forwarded-For"); got != "127.0.0.1" {
		t.Fatalf("untrusted client's X-Forwarded-For must be replaced, got %q", got)
	}
	for _, h := range []string{"X-Real-IP", "True-Client-IP", "CF-Connecting-IP", "Forwarded"} {
		if got := a.header(h); got != "" {
			t.Fatalf("untrusted client's %s reached the upstream: %q", h, got)
		}
	}
	if a.header("X-Request-Id") == "" || a.header("X-Forwarded-Host") != "shop.example.com" || a.header("X-Forwarded-Proto") != "http" {
		t.Fatalf("forwarding headers: %s", *a.last.Load())
	}
	if r := get("x.blog.example.com", "/posts/1"); r.Status != 200 || r.String() != "c /posts/1" {
		t.Fatalf("wildcard host: %d %s", r.Status, r.Body)
	}
	if r := gatewaytest.Do(t, n.addr, "POST", "/posts/1", map[string]string{"Host": "x.blog.example.com"}, "{}"); r.Status != 405 || r.Get("Allow") != "GET" {
		t.Fatalf("method not allowed: %d %v", r.Status, r.Header)
	}
	if r := get("other.org", "/x"); r.Status != 404 {
		t.Fatalf("no route: %d", r.Status)
	}
}

func TestUpstreamFailuresAre502And504(t *testing.T) {
	slow := startUpstream(t, "slow")
	slow.delay = 2 * time.Second
	dead := "127.0.0.1:" + itoa(testenv.FreePort(t))
	n := startEdge(t, config.Edge{
		Services: []config.ServiceConfig{
			{Name: "dead", Instances: []config.InstanceConfig{{Addr: dead}}},
			{Name: "slow", Instances: []config.InstanceConfig{{Addr: slow.addr}}},
			{Name: "empty"},
		},
		Routes: []config.RouteConfig{
			{Name: "dead", Path: "/dead/", Service: "dead"},
			{Name: "slow", Path: "/slow/", Service: "slow", Timeouts: config.TimeoutConfig{Response: config.Duration(200 * time.Millisecond)}},
			{Name: "empty", Path: "/empty/", Service: "empty"},
		},
	}, false)
	for path, want := range map[string]int{"/dead/x": 502, "/slow/x": 504, "/empty/x": 503} {
		r := gatewaytest.Do(t, n.addr, "GET", path, nil, "")
		if r.Status != want || !strings.Contains(r.String(), `"error"`) || !strings.Contains(r.String(), `"request_id"`) {
			t.Errorf("%s: %d %s, want %d with a JSON error", path, r.Status, r.Body, want)
		}
	}
}

func TestFailoverToAnotherInstanceOnConnectFailure(t *testing.T) {
	live := startUpstream(t, "live")
	dead := "127.0.0.1:" + itoa(testenv.FreePort(t))
	n := startEdge(t, config.Edge{
		Services: []config.ServiceConfig{{Name: "s", Instances: []config.InstanceConfig{{Addr: dead}, {Addr: live.addr}}}},
		Routes:   []config.RouteConfig{{Name: "s", Path: "/", Service: "s"}},
	}, false)
	for i := 0; i < 6; i++ {
		if r := gatewaytest.Do(t, n.addr, "GET", "/x", nil, ""); r.Status != 200 {
			t.Fatalf("GET %d: %d %s", i, r.Status, r.Body)
		}
	}
	// A request with a body is never retried: it fails when it lands on the
	// dead instance — until passive health ejects that instance (5 failures
	// in a row by default), after which every POST succeeds.
	failed, lastFailed := 0, -1
	const posts = 80
	for i := 0; i < posts; i++ {
		if r := gatewaytest.Do(t, n.addr, "POST", "/x", nil, `{"a":1}`); r.Status == 502 {
			failed++
			lastFailed = i
		} else if r.Status != 200 {
			t.Fatalf("POST %d: %d %s", i, r.Status, r.Body)
		}
	}
	// The choice between the two instances is random, so when the dead one
	// has collected its 5 failures varies; it must then stop being chosen.
	if failed > 5 || lastFailed >= posts-20 {
		t.Fatalf("POSTs that hit the dead instance: %d failed, the last at #%d; want at most 5, none in the last 20", failed, lastFailed)
	}
}

func TestRouteBodyLimitOnProxiedAndFunctionRoutes(t *testing.T) {
	up := startUpstream(t, "up")
	n := startEdge(t, config.Edge{
		Services: []config.ServiceConfig{{Name: "s", Instances: []config.InstanceConfig{{Addr: up.addr}}}},
		Routes: []config.RouteConfig{
			{Name: "s", Path: "/up/", Service: "s", MaxBody: 1000},
			{Name: "fn", Path: "/api/", Function: "api", MaxBody: 1000},
		},
	}, false)
	for _, path := range []string{"/up/x", "/api/x"} {
		if r := gatewaytest.Do(t, n.addr, "POST", path, nil, strings.Repeat("x", 1000)); r.Status != 200 {
			t.Fatalf("%s at the limit: %d %s", path, r.Status, r.Body)
		}
		if r := gatewaytest.Do(t, n.addr, "POST", path, nil, strings.Repeat("x", 1001)); r.Status != 413 {
			t.Fatalf("%s over the limit: %d %s", path, r.Status, r.Body)
		}
	}
	// A chunked body has no Content-Length: the gateway counts it as it streams.
	c, err := net.Dial("tcp", n.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	chunk := strings.Repeat("y", 600)
	req := "POST /up/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"258\r\n" + chunk + "\r\n258\r\n" + chunk + "\r\n0\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	m, _ := c.Read(buf)
	if !strings.HasPrefix(string(buf[:m]), "HTTP/1.1 413") {
		t.Fatalf("chunked body over the limit: %q", buf[:m])
	}
}

func TestPipelinedServiceThroughTheGateway(t *testing.T) {
	up := startUpstream(t, "p")
	n := startEdge(t, config.Edge{
		Services: []config.ServiceConfig{{Name: "p", Pipeline: 2, Instances: []config.InstanceConfig{{Addr: up.addr}}}},
		Routes:   []config.RouteConfig{{Name: "p", Path: "/", Service: "p"}},
	}, false)
	for i := 0; i < 20; i++ {
		path := "/item/" + itoa(i)
		if r := gatewaytest.Do(t, n.addr, "GET", path, nil, ""); r.Status != 200 || r.String() != "p "+path {
			t.Fatalf("%s: %d %s", path, r.Status, r.Body)
		}
	}
	if r := gatewaytest.Do(t, n.addr, "POST", "/post", nil, `{"a":1}`); r.Status != 200 || r.String() != "p /post" {
		t.Fatalf("POST: %d %s", r.Status, r.Body)
	}
}

func TestActiveHealthChecksTakeAnInstanceOut(t *testing.T) {
	sick, fine := startUpstream(t, "sick"), startUpstream(t, "fine")
	sick.unhealthy.Store(true)
	n := startEdge(t, config.Edge{
		Services: []config.ServiceConfig{{Name: "s",
			Instances: []config.InstanceConfig{{Addr: sick.addr}, {Addr: fine.addr}},
			Health:    &config.HealthConfig{Path: "/healthz", Interval: config.Duration(100 * time.Millisecond), Unhealthy: 2, Healthy: 1}}},
		Routes: []config.RouteConfig{{Name: "s", Path: "/", Service: "s"}},
	}, false)
	testenv.Eventually(t, 3*time.Second, func() error {
		for i := 0; i < 10; i++ {
			if r := gatewaytest.Do(t, n.addr, "GET", "/x", nil, ""); r.String() != "fine /x" {
				return errorf("still routed to the failing instance: %s", r.Body)
			}
		}
		return nil
	})
	sick.unhealthy.Store(false)
	testenv.Eventually(t, 3*time.Second, func() error {
		for i := 0; i < 20; i++ {
			if r := gatewaytest.Do(t, n.addr, "GET", "/x", nil, ""); strings.HasPrefix(r.String(), "sick") {
				return nil
			}
		}
		return errorf("the recovered instance gets no traffic")
	})
}

// TestAdaptiveConcurrencyRefusesOverload: with adaptive_concurrency on, a
// burst far above what the service can hold in flight gets 503 with
// Retry-After for the excess before any upstream work, and the rest is
// served; light traffic is never refused.
func TestAdaptiveConcurrencyRefusesOverload(t *testing.T) {
	slow := startUpstream(t, "slow")
	slow.delay = 300 * time.Millisecond
	n := startEdge(t, config.Edge{
		Services: []config.ServiceConfig{{Name: "s", AdaptiveConcurrency: true, Instances: []config.InstanceConfig{{Addr: slow.addr}}}},
		Routes:   []config.RouteConfig{{Name: "s", Path: "/", Service: "s"}},
	}, false)
	for i := 0; i < 3; i++ {
		if r := gatewaytest.Do(t, n.addr, "GET", "/light", nil, ""); r.Status != 200 {
			t.Fatalf("light traffic refused: %d %s", r.Status, r.Body)
		}
	}
	const burst = 150 // the limiter starts at 40 in flight
	results := make(chan gatewaytest.Response, burst)
	for i := 0; i < burst; i++ {
		go func() { results <- gatewaytest.Do(t, n.addr, "GET", "/burst", nil, "") }()
	}
	ok, refused := 0, 0
	for i := 0; i < burst; i++ {
		r := <-results
		switch {
		case r.Status == 200:
			ok++
		case r.Status == 503 && r.Get("Retry-After") == "1" && strings.Contains(r.String(), "concurrency limit"):
			refused++
		default:
			t.Fatalf("unexpected answer %d %s", r.Status, r.Body)
		}
	}
	t.Logf("burst of %d: %d served, %d refused", burst, ok, refused)
	if refused == 0 || ok == 0 {
		t.Fatalf("want some served and some refused, got %d served, %d refused", ok, refused)
	}
	if got := slow.hits.Load(); got != int64(ok+3) {
		t.Fatalf("the upstream saw %d requests, want %d: refused ones must not reach it", got, ok+3)
	}
}
