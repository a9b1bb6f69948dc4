package proxy

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway/balance"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestFailingInstanceIsEjectedAndReturns: an instance answering 5xx is
// taken out after 3 failures in a row, gets no traffic while ejected, and
// comes back by itself when the back-off ends.
func TestFailingInstanceIsEjectedAndReturns(t *testing.T) {
	var broken atomic.Bool
	broken.Store(true)
	bad := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		if broken.Load() {
			ctx.SetStatusCode(500)
			return
		}
		ctx.SetBodyString("bad")
	})
	good := startUpstream(t, named200("good"))
	svc, err := NewService(ServiceConfig{Name: "shop", Instances: []string{bad.addr, good.addr},
		Eject: balance.EjectorOptions{Failures: 3, Base: 500 * time.Millisecond, Max: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	f := startFront(t, NewTransport(Options{}).NewRoute(svc, RouteConfig{}))
	for i := 0; i < 40 && !svc.Ejected(0); i++ {
		get(t, f.addr, "/")
	}
	if !svc.Ejected(0) {
		t.Fatal("the instance answering 500 was never ejected")
	}
	before := bad.requests.Load()
	for i := 0; i < 20; i++ {
		if st, body := get(t, f.addr, "/"); st != 200 || string(body) != "good" {
			t.Fatalf("while ejected: %d %q", st, body)
		}
	}
	if n := bad.requests.Load() - before; n != 0 {
		t.Fatalf("the ejected instance got %d requests", n)
	}
	broken.Store(false)
	testenv.Eventually(t, 3*time.Second, func() error {
		get(t, f.addr, "/")
		if svc.Ejected(0) || bad.requests.Load() == before {
			return errNotYet
		}
		return nil
	})
}

var errNotYet = &notYet{}

type notYet struct{}

func (*notYet) Error() string { return "not yet" }
