package monitor_test

import (
	"context"
	"fmt"
	"github.com/VictoriaMetrics/metrics"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/store/buntstore"
	"github.com/wharfhq/wharf/internal/testenv"
)

// benchBody is a push of n points of distinct series, as an agent sends.
func benchBody(n int) []byte {
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"endpoint":"host-%d","metric":"net.if.in.bytes","timestamp":1700000000,"step":60,"value":%d,"counterType":"COUNTER","tags":"iface=eth%d,env=prod"}`, i%50, i*1000, i)
	}
	b.WriteByte(']')
	return []byte(b.String())
}

// BenchmarkPushPrepare is the CPU path of one push of 100 points:
// decode, validate, ring, batch encoding (no publish).
func BenchmarkPushPrepare(b *testing.B) {
	prod, err := bus.NewProducer(bus.ProducerOptions{Addrs: []string{"127.0.0.1:1"}})
	if err != nil {
		b.Fatal(err)
	}
	defer prod.Close()
	f, err := monitor.New(monitor.Options{Publisher: prod})
	if err != nil {
		b.Fatal(err)
	}
	body := benchBody(100)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if n, err := f.PrepareForBench(body); err != nil || n != 100 {
			b.Fatal(n, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/point")
}

// BenchmarkPushThroughGateway is a whole push of 100 points over HTTP
// through a real gateway into a real nsqd (16 MPUBs: 8 shards × series
// and judge topics), one push at a time.
func BenchmarkPushThroughGateway(b *testing.B) { benchPushThroughGateway(b, false) }

// BenchmarkPushThroughGatewayBacklog is BenchmarkPushThroughGateway with
// the backlog watch polling nsqd every second (with a limit never reached:
// every push takes the check and the accounting).
func BenchmarkPushThroughGatewayBacklog(b *testing.B) { benchPushThroughGateway(b, true) }

func benchPushThroughGateway(b *testing.B, watch bool) {
	nsqd := testenv.StartNSQD(b)
	prod, err := bus.NewProducer(bus.ProducerOptions{Addrs: []string{nsqd.Addr}})
	if err != nil {
		b.Fatal(err)
	}
	defer prod.Close()
	var backlog *monitor.Backlog
	if watch {
		backlog = startBacklog(b, nsqd, monitor.BacklogOptions{MaxPoints: 1 << 40}, 0, metrics.NewSet())
	}
	f, err := monitor.New(monitor.Options{Publisher: prod, Backlog: backlog})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := prod.Ping(ctx); err != nil {
		b.Fatal(err)
	}
	addr, token := benchGateway(b, f)
	body := string(benchBody(100))
	hdr := map[string]string{"Authorization": "Bearer " + token}
	b.ReportAllocs()
	for b.Loop() {
		if r := gatewaytest.Do(b, addr, "POST", "/v1/push", hdr, body); r.Status != 200 {
			b.Fatalf("%d %s", r.Status, r.Body)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/point")
}

// benchGateway serves f behind a real gateway and returns its address and an ingest token.
func benchGateway(b *testing.B, f *monitor.Function) (string, string) {
	st, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	svc := auth.NewService(st)
	_, tok, err := svc.Create(context.Background(), auth.CreateRequest{Name: "ingest", Scopes: []string{auth.ScopeIngest}})
	if err != nil {
		b.Fatal(err)
	}
	mux := fnapi.NewMux(svc, nil)
	if err := mux.Register(f); err != nil {
		b.Fatal(err)
	}
	g := gatewaytest.Start(b, gateway.Options{}, mux)
	return g.Addr().String(), tok
}
