package promexp_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/internal/promexp"
	"github.com/wharfhq/wharf/internal/promexp/promcheck"
)

func testCatalog(t *testing.T) *promexp.Catalog {
	t.Helper()
	c, err := promexp.NewCatalog([]promexp.Family{
		{Name: "wharf_test_requests_total", Type: promexp.Counter, Help: "Requests.", Labels: []string{"code"}},
		{Name: "wharf_test_in_flight", Type: promexp.Gauge, Help: "In flight\nnow, a \\ b."},
		{Name: "wharf_test_duration_seconds", Type: promexp.Histogram, Help: "Latency in seconds.", Labels: []string{"route"}},
	}, promexp.RuntimeFamilies())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func write(t *testing.T, c *promexp.Catalog, srcs ...promexp.Source) string {
	t.Helper()
	var b bytes.Buffer
	if err := c.Write(&b, srcs...); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestWriteHasHelpTypeAndPrometheusHistograms(t *testing.T) {
	t.Parallel()
	c := testCatalog(t)
	set := metrics.NewSet()
	set.NewCounter(`wharf_test_requests_total{code="2xx"}`).Add(3)
	set.NewCounter(`wharf_test_requests_total{code="5xx"}`).Inc()
	inflight := set.NewCounter(`wharf_test_in_flight`) // a counter that goes down: a gauge
	inflight.Inc()
	for _, r := range []string{"a", "b"} {
		h := set.NewPrometheusHistogramExt(`wharf_test_duration_seconds{route="`+r+`"}`, promexp.LatencyBuckets())
		for _, v := range []float64{0.0001, 0.003, 0.2, 7, 30} {
			h.Update(v)
		}
	}
	body := write(t, c, set.WritePrometheus, metrics.WriteProcessMetrics)
	fams, err := promcheck.Parse(body)
	if err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	if got := fams["wharf_test_in_flight"].GetType().String(); got != "GAUGE" {
		t.Errorf("in-flight type %s, want GAUGE", got)
	}
	if got := fams["wharf_test_in_flight"].GetHelp(); got != "In flight\nnow, a \\ b." {
		t.Errorf("help %q did not survive escaping", got)
	}
	h := fams["wharf_test_duration_seconds"].GetMetric()[0].GetHistogram()
	if n := len(h.GetBucket()); n != len(promexp.LatencyBuckets())+1 {
		t.Fatalf("%d buckets", n)
	}
	// 0.0001 <= 0.0005; 0.003 <= 0.005; 0.2 <= 0.25; 7 <= 10; 30 only in +Inf.
	for le, want := range map[float64]uint64{0.0005: 1, 0.0025: 1, 0.005: 2, 0.25: 3, 10: 4} {
		for _, b := range h.GetBucket() {
			if b.GetUpperBound() == le && b.GetCumulativeCount() != want {
				t.Errorf("le=%v: %d, want %d", le, b.GetCumulativeCount(), want)
			}
		}
	}
	if h.GetSampleCount() != 5 || h.GetSampleSum() < 37.2 {
		t.Errorf("count %d sum %v", h.GetSampleCount(), h.GetSampleSum())
	}
	if n := strings.Count(body, "# TYPE wharf_test_duration_seconds histogram\n"); n != 1 {
		t.Errorf("histogram TYPE line %d times", n)
	}
	if !strings.Contains(body, "# HELP go_goroutines ") || !strings.Contains(body, "# TYPE go_gc_duration_seconds summary\n") {
		t.Error("runtime families lack metadata")
	}
}

// Samples of one family from different sources end up together, under one
// HELP and TYPE, as the text format requires, in the order families first
// appear.
func TestWriteGroupsFamiliesAcrossSources(t *testing.T) {
	t.Parallel()
	c := testCatalog(t)
	a := func(w io.Writer) { io.WriteString(w, "wharf_test_requests_total{code=\"2xx\"} 1\ngo_goroutines 3\n") }
	b := func(w io.Writer) {
		io.WriteString(w, "# HELP wharf_test_requests_total\n# TYPE wharf_test_requests_total counter\nwharf_test_requests_total{code=\"4xx\"} 2") // no final line feed
	}
	body := write(t, c, a, b)
	if _, err := promcheck.Parse(body); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	want := "# HELP wharf_test_requests_total Requests.\n# TYPE wharf_test_requests_total counter\n" +
		"wharf_test_requests_total{code=\"2xx\"} 1\nwharf_test_requests_total{code=\"4xx\"} 2\n" +
		"# HELP go_goroutines Number of goroutines that currently exist.\n# TYPE go_goroutines gauge\ngo_goroutines 3\n"
	if body != want {
		t.Fatalf("got\n%s\nwant\n%s", body, want)
	}
}

// A family nobody described is still written (as untyped, saying so), and
// promcheck rejects it: the tests catch a metric added without its docs.
func TestWriteUndocumentedFamily(t *testing.T) {
	t.Parallel()
	c := testCatalog(t)
	set := metrics.NewSet()
	set.NewCounter(`wharf_surprise_total`).Inc()
	body := write(t, c, set.WritePrometheus)
	if !strings.Contains(body, "# TYPE wharf_surprise_total untyped\nwharf_surprise_total 1\n") {
		t.Fatalf("undocumented family: %s", body)
	}
	if _, err := promcheck.Parse(body); err == nil || !strings.Contains(err.Error(), "wharf_surprise_total") {
		t.Fatalf("promcheck let an untyped family pass: %v", err)
	}
}

func TestPromcheckRejects(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"no help":       "# TYPE x_total counter\nx_total 1\n",
		"no type":       "# HELP x_total X.\nx_total 1\n",
		"empty help":    "# HELP x_total\n# TYPE x_total counter\nx_total 1\n",
		"no +Inf":       "# HELP h_seconds H.\n# TYPE h_seconds histogram\nh_seconds_bucket{le=\"1\"} 1\nh_seconds_bucket{le=\"2\"} 1\nh_seconds_count 1\nh_seconds_sum 1\n",
		"decreasing":    "# HELP h_seconds H.\n# TYPE h_seconds histogram\nh_seconds_bucket{le=\"1\"} 2\nh_seconds_bucket{le=\"+Inf\"} 1\nh_seconds_count 1\nh_seconds_sum 1\n",
		"count differs": "# HELP h_seconds H.\n# TYPE h_seconds histogram\nh_seconds_bucket{le=\"1\"} 1\nh_seconds_bucket{le=\"+Inf\"} 1\nh_seconds_count 2\nh_seconds_sum 1\n",
		"vmrange":       "# HELP h_seconds H.\n# TYPE h_seconds histogram\nh_seconds_bucket{vmrange=\"1.0e0...1.5e0\"} 1\nh_seconds_count 1\nh_seconds_sum 1\n",
		"not text":      "x_total{ 1\n",
	} {
		if _, err := promcheck.Parse(body); err == nil {
			t.Errorf("%s: accepted\n%s", name, body)
		}
	}
}

func TestNewCatalogRejects(t *testing.T) {
	t.Parallel()
	ok := promexp.Family{Name: "wharf_x_total", Type: promexp.Counter, Help: "X."}
	for name, fams := range map[string][]promexp.Family{
		"bad name":            {{Name: "wharf-x", Type: promexp.Gauge, Help: "X."}},
		"bad type":            {{Name: "wharf_x", Type: "gauges", Help: "X."}},
		"no help":             {{Name: "wharf_x", Type: promexp.Gauge}},
		"bad label":           {{Name: "wharf_x", Type: promexp.Gauge, Help: "X.", Labels: []string{"le"}}},
		"twice, not the same": {ok, {Name: "wharf_x_total", Type: promexp.Gauge, Help: "X."}},
	} {
		if _, err := promexp.NewCatalog(fams); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := promexp.NewCatalog([]promexp.Family{ok}, []promexp.Family{ok}); err != nil {
		t.Errorf("the same family twice: %v", err)
	}
}

func TestCheckConventions(t *testing.T) {
	t.Parallel()
	for _, f := range []promexp.Family{
		{Name: "wharf_requests_total", Type: promexp.Counter, Help: "X."},
		{Name: "wharf_request_duration_seconds", Type: promexp.Histogram, Help: "X."},
		{Name: "wharf_cert_expiry_timestamp_seconds", Type: promexp.Gauge, Help: "X."},
		{Name: "wharf_in_flight", Type: promexp.Gauge, Help: "X."},
	} {
		if err := f.CheckConventions(); err != nil {
			t.Errorf("%s: %v", f.Name, err)
		}
	}
	for _, f := range []promexp.Family{
		{Name: "requests_total", Type: promexp.Counter, Help: "X."},
		{Name: "wharf_requests", Type: promexp.Counter, Help: "X."},
		{Name: "wharf_pending_total", Type: promexp.Gauge, Help: "X."},
		{Name: "wharf_request_duration_ms", Type: promexp.Histogram, Help: "X."},
		{Name: "wharf_request_latency", Type: promexp.Histogram, Help: "X."},
		{Name: "wharf_body_kilobytes_total", Type: promexp.Counter, Help: "X."},
		{Name: "wharf_Requests_total", Type: promexp.Counter, Help: "X."},
	} {
		if err := f.CheckConventions(); err == nil {
			t.Errorf("%s: accepted", f.Name)
		}
	}
}
