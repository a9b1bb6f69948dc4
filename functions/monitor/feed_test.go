package monitor_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/internal/feed"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestOwnMetricsInProcessAndOverHTTP: the points of Wharf's own parts are
// stored as a push's are, whether they come in-process (Function.Push) or
// over HTTP with an ingest token (feed.HTTPSink); an agent token is
// refused without the token in the error; invalid points are reported.
func TestOwnMetricsInProcessAndOverHTTP(t *testing.T) {
	s := newServer(t, serverOptions{fn: monitor.Options{MinStep: 1}})
	ts := time.Now().Unix()/60*60 - 120
	point := func(endpoint string, ts int64, v float64) feed.Point {
		return feed.Point{Endpoint: endpoint, Metric: "wharf.route.requests", Timestamp: ts, Step: 60, Value: v, CounterType: feed.Gauge, Tags: "service=shop,route=shop"}
	}
	ctx := context.Background()
	if err := s.fn.Push(ctx, []feed.Point{point("in-process", ts, 1), point("in-process", ts+60, 7)}); err != nil {
		t.Fatal(err)
	}
	sink := &feed.HTTPSink{URL: "http://" + s.addr, Token: s.tokens["ingest"]}
	if err := sink.Push(ctx, []feed.Point{point("over-http", ts, 1), point("over-http", ts+60, 9)}); err != nil {
		t.Fatal(err)
	}
	for endpoint, want := range map[string]float64{"in-process": 7, "over-http": 9} {
		q := fmt.Sprintf("endpoint=%s&metric=wharf.route.requests&tags=route=shop,service=shop&start=%d&end=%d", endpoint, ts-60, ts+120)
		testenv.Eventually(t, 10*time.Second, func() error {
			v, ok := valueAt(s.query(t, q), ts+60)
			if !ok || v == nil || *v != want {
				return fmt.Errorf("%s at %d: %v %v, want %v", endpoint, ts+60, ok, v, want)
			}
			return nil
		})
	}
	agent := &feed.HTTPSink{URL: "http://" + s.addr, Token: s.tokens["agent"]}
	err := agent.Push(ctx, []feed.Point{point("x", ts, 1)})
	if err == nil || !strings.Contains(err.Error(), "403") || strings.Contains(err.Error(), s.tokens["agent"]) {
		t.Fatalf("agent token: %v", err)
	}
	bad := point("", ts, 1)
	if err := s.fn.Push(ctx, []feed.Point{bad, point("in-process", ts+120, 1)}); err == nil || !strings.Contains(err.Error(), "1 of 2 points invalid") {
		t.Fatalf("invalid point: %v", err)
	}
}
