package feed

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestQuantile(t *testing.T) {
	bounds := []float64{0.1, 0.2, 0.5}
	cases := []struct {
		q      float64
		counts []uint64
		want   float64
	}{
		{0.5, []uint64{0, 10, 0, 0}, 0.15},      // middle of (0.1, 0.2]
		{0.99, []uint64{50, 0, 50, 0}, 0.494},   // near the top of (0.2, 0.5]
		{0.5, []uint64{0, 0, 0, 4}, 0.5},        // +Inf bucket: largest finite bound
		{0.5, []uint64{10, 0, 0, 0}, 0.05},      // first bucket from 0
		{0.99, []uint64{100, 0, 0, 1}, 0.09999}, // rank 99.99 within the first bucket
		{1, []uint64{1, 1, 0, 0}, 0.2},
	}
	for _, c := range cases {
		if got := Quantile(c.q, bounds, c.counts); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("Quantile(%v, %v) = %v, want %v", c.q, c.counts, got, c.want)
		}
	}
	if got := Quantile(0.5, bounds, []uint64{0, 0, 0, 0}); !math.IsNaN(got) {
		t.Errorf("no observations: %v, want NaN", got)
	}
	if got := Quantile(0.5, bounds, []uint64{1}); !math.IsNaN(got) {
		t.Errorf("mismatched counts: %v, want NaN", got)
	}
}

func TestTags(t *testing.T) {
	if got := Tags("route", "web", "service", ""); got != "route=web" {
		t.Errorf("got %q", got)
	}
	if got := Tags("route", "web", "service", "api"); got != "route=web,service=api" {
		t.Errorf("got %q", got)
	}
	if got := Tags("mount", "/data/a,b=c d"); got != "mount=/data/a_b_c_d" {
		t.Errorf("got %q", got)
	}
}

func TestAppendJSONIsAFalconPushBody(t *testing.T) {
	in := []Point{{Endpoint: `n"1`, Metric: "wharf.route.requests", Timestamp: 100, Step: 30, Value: 0.25, CounterType: Gauge, Tags: "route=a"}}
	var out []struct {
		Endpoint, Metric, CounterType, Tags string
		Timestamp, Step                     int64
		Value                               string
	}
	if err := json.Unmarshal(AppendJSON(nil, in), &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].Endpoint != `n"1` || out[0].Value != "0.25" || out[0].Step != 30 || out[0].Tags != "route=a" {
		t.Fatalf("got %+v", out)
	}
	if got := string(AppendJSON(nil, nil)); got != "[]" {
		t.Fatalf("empty: %s", got)
	}
}

func TestHTTPSinkKeepsTheTokenOutOfErrors(t *testing.T) {
	var gotAuth, gotPath string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotPath = r.Header.Get("Authorization"), r.URL.Path
		if gotAuth != "Bearer good" {
			http.Error(w, `{"error":"forbidden"}`, http.StatusForbidden)
			return
		}
		_, _ = w.Write([]byte(`{"message":"ok"}`))
	}))
	defer srv.Close()
	pts := []Point{{Endpoint: "n", Metric: "m", Timestamp: 1, Step: 30, CounterType: Gauge}}
	if err := (&HTTPSink{URL: srv.URL + "/", Token: "good"}).Push(context.Background(), pts); err != nil {
		t.Fatal(err)
	}
	if gotPath != "/api/v1/metrics/push" {
		t.Fatalf("path %q", gotPath)
	}
	err := (&HTTPSink{URL: srv.URL, Token: "secret-token"}).Push(context.Background(), pts)
	if err == nil || !strings.Contains(err.Error(), "403") || strings.Contains(err.Error(), "secret-token") {
		t.Fatalf("err = %v", err)
	}
}

func TestNextBoundary(t *testing.T) {
	at := time.Date(2026, 1, 1, 10, 0, 47, 5, time.UTC)
	if got := nextBoundary(at, 30*time.Second); !got.Equal(time.Date(2026, 1, 1, 10, 1, 0, 0, time.UTC)) {
		t.Fatalf("got %v", got)
	}
	on := time.Date(2026, 1, 1, 10, 0, 30, 0, time.UTC)
	if got := nextBoundary(on, 30*time.Second); !got.Equal(on.Add(30 * time.Second)) {
		t.Fatalf("on a boundary: %v", got)
	}
}

// chanSink hands each push to a channel.
type chanSink chan []Point

func (c chanSink) Push(_ context.Context, p []Point) error { c <- p; return nil }

// TestRunPushesAtStepBoundaries: each push carries the boundary it was
// collected at; a step without points pushes nothing; Run ends with ctx.
func TestRunPushesAtStepBoundaries(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	sink := make(chanSink, 8)
	n := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, Options{Step: time.Second, Sink: sink, Collect: func(now time.Time) []Point {
			n++
			if n == 1 {
				return nil // nothing this step
			}
			return []Point{{Endpoint: "n", Metric: "m", Timestamp: now.Unix(), Step: 1, CounterType: Gauge}}
		}})
	}()
	var last int64
	for range 2 {
		p := <-sink
		if len(p) != 1 || p[0].Timestamp <= last {
			t.Fatalf("push %+v after %d", p, last)
		}
		last = p[0].Timestamp
	}
	cancel()
	<-done
}
