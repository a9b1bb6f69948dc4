package gateway

import (
	"net"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/config"
)

// okFunctions answers every function request with a fixed body.
type okFunctions struct{}

func (okFunctions) HasFunction(string) bool { return true }

func (okFunctions) ServeFunction(_ string, ctx *fasthttp.RequestCtx, _ string, _ int64) bool {
	ctx.SetBodyString("ok")
	return true
}

// TestHandlerAllocations holds the request path at its allocation count
// for its main outcomes; a change that allocates more per request fails
// here (and shows in BenchmarkHandler*). The counts are what the path
// allocates today: the request id (proxy, function) and the JSON error
// answer (404, 429). Under the race detector the paths run but their
// counts are only logged (sync.Pool drops items at random there): run
// go test -run TestHandlerAllocations ./gateway/ for the check.
func TestHandlerAllocations(t *testing.T) {
	g := benchGatewayWith(t, 0, []config.RouteConfig{
		{Name: "fn", Host: "fn.example.com", Path: "/", Function: "api"},
		{Name: "strict", Host: "strict.example.com", Path: "/", Function: "api", Limits: []string{"strict"}},
	}, okFunctions{})
	for _, c := range []struct {
		name, host string
		status     int
		max        float64
		target     string
	}{
		{"proxy", "shop.example.com", 200, 1, ""},
		// The upstream gets the normalized path; the gateway also checks
		// how Tomcat reads the ";".
		{"proxy normalized", "shop.example.com", 200, 1, "/products//42/./x/../42;v=1?color=red"},
		{"function", "fn.example.com", 200, 1, ""},
		{"404", "nowhere.example.com", 404, 9, ""},
		{"429", "strict.example.com", 429, 10, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var req fasthttp.Request
			if c.target == "" {
				c.target = "/products/42?color=red"
			}
			req.SetRequestURI(c.target)
			req.Header.SetHost(c.host)
			var ctx fasthttp.RequestCtx
			ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(198, 51, 100, 7), Port: 40000}, nil)
			serve := func() {
				ctx.Response.Reset()
				g.handle(&ctx)
				if ctx.Response.StatusCode() != c.status {
					t.Fatalf("status %d, want %d: %s", ctx.Response.StatusCode(), c.status, ctx.Response.Body())
				}
			}
			if c.status == 429 {
				ctx.Response.Reset()
				g.handle(&ctx) // the one request a minute the limit admits
			}
			if n := testing.AllocsPerRun(200, serve); n > c.max && !raceEnabled {
				t.Errorf("%s: %.1f allocations per request, want at most %.0f", c.name, n, c.max)
			} else {
				t.Logf("%s: %.1f allocations per request", c.name, n)
			}
		})
	}
}
