package gateway

import (
	"encoding/json"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestFunctionPathAllocations holds the in-process function answer
// (BenchmarkFunctionPath: whoami with an admin token through the real
// function mux and token cache) at its allocation count: the request id
// and the handler's fnapi.Request. Under the race detector the count is
// only logged (see TestHandlerAllocations).
func TestFunctionPathAllocations(t *testing.T) {
	g, token := fnPath(t)
	var ctx fasthttp.RequestCtx
	whoamiRequest(&ctx, token)
	serve := func() {
		ctx.Response.Reset()
		g.handle(&ctx)
		if ctx.Response.StatusCode() != fasthttp.StatusOK {
			t.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
	serve()
	var who struct {
		ID, Name, ServerVersion string
		Scopes, Teams           []string
	}
	if err := json.Unmarshal(ctx.Response.Body(), &who); err != nil || who.Name != "admin" || len(who.Scopes) != 1 || who.Scopes[0] != "admin" || who.Teams == nil {
		t.Fatalf("whoami answered %s (%v)", ctx.Response.Body(), err)
	}
	if ct := string(ctx.Response.Header.ContentType()); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	if rid := ctx.Response.Header.Peek(HeaderRequestID); !validRequestID(rid) || string(ctx.Request.Header.Peek(HeaderRequestID)) != string(rid) {
		t.Fatalf("X-Request-Id %q on the answer, %q on the request", rid, ctx.Request.Header.Peek(HeaderRequestID))
	}
	const want = 2
	if n := testing.AllocsPerRun(200, serve); n > want && !raceEnabled {
		t.Errorf("%.1f allocations per request, want at most %d", n, want)
	} else {
		t.Logf("%.1f allocations per request", n)
	}
}
