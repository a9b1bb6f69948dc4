package ab_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/ab"
	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/fntest"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/redisstore"
	"github.com/wharfhq/wharf/internal/testenv"
)

// server is the A/B function behind a real gateway, Mux, store and nsqd,
// with Run following the store.
type server struct {
	addr   string
	nsqd   *testenv.NSQD
	st     store.Store
	fn     *ab.Function
	mux    *fnapi.Mux
	tokens map[string]string // admin, ingest, agent, team (shop), other (bank), multi (shop and bank)
}

func newServer(t testing.TB, engine string, edit ...func(*ab.Options)) *server {
	t.Helper()
	nsqd := testenv.StartNSQD(t)
	so := redisstore.Options{Namespace: "ab"}
	if engine == "redis" {
		so.Addr = testenv.StartRedis(t).Addr
	}
	st := fntest.OpenStore(t, so)
	svc := auth.NewService(st)
	s := &server{nsqd: nsqd, st: st, tokens: fntest.Tokens(t, svc)}
	prod, err := bus.NewProducer(bus.ProducerOptions{Addrs: []string{nsqd.Addr}, PublishTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prod.Close() })
	o := ab.Options{Store: st, Publisher: prod, FlushInterval: 50 * time.Millisecond}
	for _, e := range edit {
		e(&o)
	}
	fn, err := ab.New(o)
	if err != nil {
		t.Fatal(err)
	}
	s.fn = fn
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	<-fn.Ready()
	mux := fnapi.NewMux(svc, nil)
	if err := mux.Register(fn); err != nil {
		t.Fatal(err)
	}
	s.mux = mux
	s.addr = gatewaytest.Start(t, gateway.Options{}, mux).Addr().String()
	return s
}

func (s *server) do(t testing.TB, method, path, who, body string) gatewaytest.Response {
	t.Helper()
	hdr := map[string]string{}
	if who != "" {
		hdr["Authorization"] = "Bearer " + s.tokens[who]
	}
	if body != "" {
		hdr["Content-Type"] = "application/json"
	}
	r := gatewaytest.Do(t, s.addr, method, path, hdr, body)
	gatewaytest.NoSecrets(t, r)
	return r
}

// must does a request that must answer want.
func (s *server) must(t testing.TB, want int, method, path, who, body string) gatewaytest.Response {
	t.Helper()
	r := s.do(t, method, path, who, body)
	if r.Status != want {
		t.Fatalf("%s %s as %s: %d, want %d: %s", method, path, who, r.Status, want, r.Body)
	}
	return r
}

func decode[T any](t testing.TB, r gatewaytest.Response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("response %d is not JSON: %v: %q", r.Status, err, r.Body)
	}
	return v
}

// running creates layer (if not "") and a running 50/50 experiment key of
// shop in it over range, and waits until decisions see it.
func (s *server) running(t *testing.T, layer, key string, lo, hi int) {
	t.Helper()
	if layer != "" {
		if r := s.do(t, "GET", "/fn/ab/layers/shop/"+layer, "team", ""); r.Status == 404 {
			s.must(t, 201, "POST", "/fn/ab/layers", "team", fmt.Sprintf(`{"name":%q}`, layer))
		}
	}
	body := fmt.Sprintf(`{"key":%q,"variations":[{"name":"control","weight":0.5,"value":{"color":"grey"}},{"name":"blue","weight":0.5,"value":{"color":"blue"}}]}`, key)
	if layer != "" {
		body = fmt.Sprintf(`{"key":%q,"layer":%q,"range":[%d,%d],"variations":[{"name":"control","weight":0.5,"value":{"color":"grey"}},{"name":"blue","weight":0.5,"value":{"color":"blue"}}]}`, key, layer, lo, hi)
	}
	s.must(t, 201, "POST", "/fn/ab/experiments", "team", body)
	s.must(t, 200, "POST", "/fn/ab/experiments/shop/"+key+"/start", "team", "")
	s.waitRunning(t, key)
}

// waitRunning waits until a decision of shop sees key running.
func (s *server) waitRunning(t testing.TB, key string) {
	t.Helper()
	testenv.Eventually(t, 5*time.Second, func() error {
		r := s.do(t, "GET", "/fn/ab/decide/"+key+"?unit=probe", "team", "")
		if r.Status != 200 {
			return fmt.Errorf("decide: %s", r)
		}
		return nil
	})
}

// distinctUnits returns n unit ids ("u<i>", skipping some) of which no
// two, nor one and the probe of waitRunning, share a slot of the
// function's set of exposed units in any of variations: the set is lossy
// (exposed.go), and a pair of units evicting each other would record
// again at each decision, spending the budget of new exposures that a
// test of exact counts gives to other units (with random names about one
// run in 150 had such a pair among 30 units).
func (s *server) distinctUnits(n, variations int) []string {
	used := map[uint64]bool{}
	free := func(u string) bool {
		for v := range variations {
			if used[ab.ExposureSlot(s.fn, u, v)] {
				return false
			}
		}
		for v := range variations {
			used[ab.ExposureSlot(s.fn, u, v)] = true
		}
		return true
	}
	free("probe")
	var out []string
	for i := 0; len(out) < n; i++ {
		if u := fmt.Sprintf("u%d", i); free(u) {
			out = append(out, u)
		}
	}
	return out
}

// local serves one request in-process through the Mux (the handler path
// of the gateway without the network), for runs of many decisions.
type local struct {
	s   *server
	req fasthttp.Request
	ctx fasthttp.RequestCtx
}

func (s *server) local(who string) *local {
	l := &local{s: s}
	l.req.Header.Set("Authorization", "Bearer "+s.tokens[who])
	l.req.Header.SetContentType("application/json")
	return l
}

// do serves method path with body and returns the status and body.
func (l *local) do(method, path, body string) (int, []byte) {
	l.req.Header.SetMethod(method)
	l.req.SetRequestURI(path)
	l.req.SetBodyString(body)
	l.ctx.Init(&l.req, nil, nil)
	l.s.mux.Serve(&l.ctx, "rid")
	return l.ctx.Response.StatusCode(), l.ctx.Response.Body()
}

// decide decides unit in-process.
func (l *local) decide(t testing.TB, unit string) ab.Decision {
	t.Helper()
	st, b := l.do("POST", "/fn/ab/decide", `{"unit":"`+unit+`"}`)
	if st != 200 {
		t.Fatalf("decide %s: %d %s", unit, st, b)
	}
	var d ab.Decision
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
