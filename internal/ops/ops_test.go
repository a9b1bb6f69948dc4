package ops

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/internal/promexp"
	"github.com/wharfhq/wharf/internal/promexp/promcheck"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServer(t *testing.T) {
	set := metrics.NewSet()
	set.NewCounter(`wharf_test_total{kind="x"}`).Add(3)
	s, err := New(Options{Listen: "127.0.0.1:0", Metrics: set, CheckTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	base := "http://" + s.Addr().String()

	var redisDown = true
	s.AddCheck("store", func(context.Context) error { return nil })
	s.AddCheck("redis", func(context.Context) error {
		if redisDown {
			return errors.New("dial tcp 127.0.0.1:1: connection refused")
		}
		return nil
	})
	s.AddCheck("slow", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })

	if code, _ := get(t, base+"/health"); code != 200 {
		t.Fatalf("health %d", code)
	}
	code, body := get(t, base+"/ready")
	if code != 503 || !strings.Contains(body, "connection refused") || !strings.Contains(body, `"slow"`) {
		t.Fatalf("ready %d %s", code, body)
	}
	s.AddCheck("slow", func(context.Context) error { return nil })
	redisDown = false
	code, body = get(t, base+"/ready")
	var r struct {
		Ready  bool
		Checks []CheckResult
	}
	_ = json.Unmarshal([]byte(body), &r)
	if code != 200 || !r.Ready || len(r.Checks) != 3 {
		t.Fatalf("ready %d %s", code, body)
	}
	s.SetDraining()
	if code, body = get(t, base+"/ready"); code != 503 || !strings.Contains(body, "draining") {
		t.Fatalf("draining ready %d %s", code, body)
	}
	code, body = get(t, base+"/metrics")
	if code != 200 || !strings.Contains(body, `wharf_test_total{kind="x"} 3`) || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("metrics %d %.300s", code, body)
	}
	if code, _ = get(t, base+"/debug/pprof/"); code != 200 {
		t.Fatalf("pprof %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestListenError(t *testing.T) {
	if _, err := New(Options{Listen: "256.0.0.1:1"}); err == nil || !strings.Contains(err.Error(), "internal address") {
		t.Fatalf("got %v", err)
	}
}

// /metrics is what Prometheus reads as it is: HELP and TYPE for every family
// (the set's from the catalog, the Go runtime's built in), le histograms.
func TestMetricsExposition(t *testing.T) {
	set := metrics.NewSet()
	set.NewCounter(`wharf_test_total{kind="x"}`).Add(3)
	set.NewPrometheusHistogramExt(`wharf_test_duration_seconds`, promexp.LatencyBuckets()).Update(0.02)
	cat, err := promexp.NewCatalog([]promexp.Family{
		{Name: "wharf_test_total", Type: promexp.Counter, Help: "Tests.", Labels: []string{"kind"}},
		{Name: "wharf_test_duration_seconds", Type: promexp.Histogram, Help: "Test latency in seconds."},
	}, promexp.RuntimeFamilies())
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Listen: "127.0.0.1:0", Metrics: set, Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = s.Run(ctx) }()
	resp, err := http.Get("http://" + s.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("content type %q", ct)
	}
	fams, err := promcheck.Parse(string(b))
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if h := fams["wharf_test_duration_seconds"]; h.GetType().String() != "HISTOGRAM" || h.GetMetric()[0].GetHistogram().GetSampleCount() != 1 {
		t.Fatalf("histogram: %v", h)
	}
	if !strings.HasPrefix(string(b), "# HELP wharf_test_duration_seconds Test latency in seconds.\n# TYPE wharf_test_duration_seconds histogram\n") {
		t.Fatalf("Wharf's families come first, with metadata: %.300s", b)
	}
}
