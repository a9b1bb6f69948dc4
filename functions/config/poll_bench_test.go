package config_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/config"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/store/buntstore"
)

// callMux runs one request through the Mux in this goroutine (no socket:
// a held poll costs here what it costs a server, minus the connection's
// buffers).
func callMux(mux *fnapi.Mux, method, uri, token, body string) *fasthttp.RequestCtx {
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.SetBodyString(body)
		req.Header.SetContentType("application/json")
	}
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, nil)
	mux.Serve(ctx, "bench")
	return ctx
}

// BenchmarkPublishAnswersHeldPolls: 10,000 polls held on one node, one
// publish; reports when the polls were answered after the publish began
// (p50, p99, max) and the memory a held poll costs (heap and stacks).
func BenchmarkPublishAnswersHeldPolls(b *testing.B) {
	const polls = 10000
	st, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	svc := auth.NewService(st)
	admin, err := svc.Bootstrap(context.Background(), filepath.Join(b.TempDir(), "t"))
	if err != nil {
		b.Fatal(err)
	}
	fn, err := config.New(config.Options{Store: st, Tokens: svc, PollTimeout: 5 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = fn.Run(ctx) }()
	<-fn.Ready()
	mux := fnapi.NewMux(svc, nil)
	if err := mux.Register(fn); err != nil {
		b.Fatal(err)
	}
	ns := "/api/v1/config/apps/shop/clusters/default/namespaces/application"
	must := func(c *fasthttp.RequestCtx, want int) {
		if c.Response.StatusCode() != want {
			b.Fatalf("%s %s: %d %s", c.Method(), c.RequestURI(), c.Response.StatusCode(), c.Response.Body())
		}
	}
	must(callMux(mux, "PUT", ns+"/items/a", admin, `{"value":"0"}`), 200)
	must(callMux(mux, "POST", ns+"/releases", admin, `{}`), 201)
	var p50, p99, worst time.Duration
	var perPoll float64
	b.ResetTimer()
	for range b.N {
		// The id the hub knows once it has seen the last publish.
		head, err := st.Get(context.Background(), "config/head/shop/default/application")
		if err != nil {
			b.Fatal(err)
		}
		var ans []config.ApolloNotification
		for len(ans) == 0 || ans[0].NotificationID < int64(head.Version) {
			first := callMux(mux, "GET", pollQuery("shop", "default", map[string]int64{"application": -1}), admin, "")
			must(first, 200)
			if err := jsonUnmarshal(first.Response.Body(), &ans); err != nil {
				b.Fatal(err)
			}
		}
		uri := pollQuery("shop", "default", map[string]int64{"application": ans[0].NotificationID})
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		done := make([]time.Time, polls)
		status := make([]int, polls)
		early := make(chan string, polls)
		published := make(chan struct{})
		var wg sync.WaitGroup
		for i := range polls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := callMux(mux, "GET", uri, admin, "")
				done[i], status[i] = time.Now(), c.Response.StatusCode()
				select {
				case <-published:
				default:
					early <- fmt.Sprintf("%d %s", c.Response.StatusCode(), c.Response.Body())
				}
			}()
		}
		for fn.HeldPolls() < polls {
			select {
			case e := <-early:
				b.Fatalf("a poll was answered before the publish: %s", e)
			default:
			}
			runtime.Gosched()
		}
		close(published)
		runtime.ReadMemStats(&after)
		perPoll = float64((after.HeapInuse+after.StackInuse)-(before.HeapInuse+before.StackInuse)) / polls
		start := time.Now()
		must(callMux(mux, "POST", ns+"/releases", admin, `{}`), 201)
		wg.Wait()
		lat := make([]time.Duration, polls)
		for i := range polls {
			if status[i] != 200 {
				b.Fatalf("poll %d answered %d", i, status[i])
			}
			lat[i] = done[i].Sub(start)
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		p50, p99, worst = lat[polls/2], lat[polls*99/100], lat[polls-1]
	}
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(worst.Microseconds())/1000, "max-ms")
	b.ReportMetric(perPoll, "bytes/held-poll")
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
