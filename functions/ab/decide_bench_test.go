package ab_test

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/valyala/fasthttp"
)

// setupBench starts the function with 20 running experiments in 4 layers
// (5 per layer, 2,000 buckets each) and returns a serving local client.
func setupBench(b *testing.B) *local {
	s := newServer(b, "buntdb")
	for l := range 4 {
		s.must(b, 201, "POST", "/fn/ab/layers", "team", fmt.Sprintf(`{"name":"layer%d"}`, l))
		for e := range 5 {
			key := fmt.Sprintf("exp%d-%d", l, e)
			s.must(b, 201, "POST", "/fn/ab/experiments", "team", fmt.Sprintf(`{"key":%q,"layer":"layer%d","range":[%d,%d],"variations":[{"name":"control","weight":0.5,"value":{"v":0}},{"name":"treatment","weight":0.5,"value":{"v":1}}]}`, key, l, e*2000, (e+1)*2000))
			s.must(b, 200, "POST", "/fn/ab/experiments/shop/"+key+"/start", "team", "")
		}
	}
	for l := range 4 {
		for e := range 5 {
			s.waitRunning(b, fmt.Sprintf("exp%d-%d", l, e))
		}
	}
	return s.local("team")
}

// BenchmarkDecideRequest is one POST /fn/ab/decide through the Mux (token
// check, body decoding, 20 experiments in 4 layers, the JSON answer): the
// unit is in one experiment of each layer.
func BenchmarkDecideRequest(b *testing.B) {
	l := setupBench(b)
	bodies := make([]string, 1024)
	for i := range bodies {
		bodies[i] = `{"unit":"user-` + strconv.Itoa(i) + `","attributes":{"country":"fr"}}`
	}
	l.req.Header.SetMethod(fasthttp.MethodPost)
	l.req.SetRequestURI("/fn/ab/decide")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		l.req.SetBodyString(bodies[i&1023])
		l.ctx.Response.Reset()
		l.ctx.Init(&l.req, nil, nil)
		l.s.mux.Serve(&l.ctx, "rid")
		if l.ctx.Response.StatusCode() != 200 {
			b.Fatalf("%d %s", l.ctx.Response.StatusCode(), l.ctx.Response.Body())
		}
		i++
	}
}
