package proxy

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"
)

func pipelinedService(t *testing.T, n int, addrs ...string) *Service {
	t.Helper()
	s, err := NewService(ServiceConfig{Name: "api", Instances: addrs, Pipeline: n, Picker: fixed(0)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// echoPath answers with the request path, so a response given to the wrong
// pipelined request shows.
func echoPath(ctx *fasthttp.RequestCtx) { ctx.SetBody(ctx.Path()) }

func TestPipelinedRequestsGetTheirOwnAnswers(t *testing.T) {
	up := startUpstream(t, echoPath)
	tr := NewTransport(Options{})
	f := startFront(t, tr.NewRoute(pipelinedService(t, 2, up.addr), RouteConfig{}))
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				path := fmt.Sprintf("/item/%d/%d", g, i)
				st, body := get(t, f.addr, path)
				if st != 200 || string(body) != path {
					errs <- fmt.Sprintf("%s: %d %q", path, st, body)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if out := f.last(t); !out.Pipelined {
		t.Fatalf("requests after the first success must be pipelined: %+v", out)
	}
	// A request with a body is never pipelined, and still answered.
	if st, body := do(t, f.addr, fasthttp.MethodPost, "/post", []byte("x")); st != 200 || string(body) != "/post" {
		t.Fatalf("POST: %d %q", st, body)
	}
	if out := f.last(t); out.Pipelined {
		t.Fatalf("a POST with a body was pipelined: %+v", out)
	}
	if up.requests.Load() != 16*50+1 {
		t.Fatalf("upstream saw %d requests", up.requests.Load())
	}
}

func TestPipelinedFailoverFromADeadInstance(t *testing.T) {
	up := startUpstream(t, echoPath)
	dead := refusedAddr(t)
	tr := NewTransport(Options{})
	f := startFront(t, tr.NewRoute(pipelinedService(t, 2, dead, up.addr), RouteConfig{}))
	for i := 0; i < 20; i++ {
		path := fmt.Sprintf("/x/%d", i)
		if st, body := get(t, f.addr, path); st != 200 || string(body) != path {
			t.Fatalf("%s: %d %q", path, st, body)
		}
	}
}

func TestPipelinedConnectionClosedByTheUpstream(t *testing.T) {
	// Every 10th request makes the upstream close its connection after
	// answering: requests pipelined behind it on that connection are
	// replayed through the pool instead of failing.
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		if strings.HasPrefix(string(ctx.Path()), "/drop") {
			ctx.SetConnectionClose()
		}
		echoPath(ctx)
	})
	tr := NewTransport(Options{})
	f := startFront(t, tr.NewRoute(pipelinedService(t, 1, up.addr), RouteConfig{}))
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				path := fmt.Sprintf("/keep/%d/%d", g, i)
				if i%10 == 0 {
					path = fmt.Sprintf("/drop/%d/%d", g, i)
				}
				if st, body := get(t, f.addr, path); st != 200 || string(body) != path {
					errs <- fmt.Sprintf("%s: %d %q", path, st, body)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
