package promexp_test

import (
	"fmt"
	"io"
	"testing"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/internal/promexp"
)

// benchSet is a gateway with 200 routes, as /metrics of a busy edge shows
// it: per route 6 status-class counters, 6 outcome counters and a latency
// histogram (14 buckets + +Inf, _sum, _count): about 5,800 series.
func benchSet(b *testing.B) (*metrics.Set, *promexp.Catalog) {
	set := metrics.NewSet()
	fams := []promexp.Family{
		{Name: "wharf_gateway_route_requests_total", Type: promexp.Counter, Help: "Requests.", Labels: []string{"route", "service", "code"}},
		{Name: "wharf_gateway_route_request_duration_seconds", Type: promexp.Histogram, Help: "Latency.", Labels: []string{"route", "service"}},
	}
	for _, what := range []string{"denied", "banned", "limited", "delayed", "limit_dry_run", "upstream_errors"} {
		fams = append(fams, promexp.Family{Name: "wharf_gateway_route_" + what + "_total", Type: promexp.Counter, Help: "X.", Labels: []string{"route", "service"}})
	}
	for r := range 200 {
		l := fmt.Sprintf(`route="r%03d",service="svc%03d"`, r, r)
		for _, c := range []string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"} {
			set.NewCounter(`wharf_gateway_route_requests_total{` + l + `,code="` + c + `"}`).Add(r)
		}
		for _, what := range []string{"denied", "banned", "limited", "delayed", "limit_dry_run", "upstream_errors"} {
			set.NewCounter(`wharf_gateway_route_` + what + `_total{` + l + `}`).Add(r)
		}
		h := set.NewPrometheusHistogramExt(`wharf_gateway_route_request_duration_seconds{`+l+`}`, promexp.LatencyBuckets())
		for i := range 50 {
			h.Update(float64(i) / 100)
		}
	}
	c, err := promexp.NewCatalog(fams, promexp.RuntimeFamilies())
	if err != nil {
		b.Fatal(err)
	}
	return set, c
}

// BenchmarkWrite is the whole /metrics exposition: the set, the Go runtime
// and process metrics, grouped under HELP and TYPE.
func BenchmarkWrite(b *testing.B) {
	set, c := benchSet(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Write(io.Discard, set.WritePrometheus, metrics.WriteProcessMetrics); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteBare is the same without this package: what the library
// writes (no metadata), the baseline of BenchmarkWrite.
func BenchmarkWriteBare(b *testing.B) {
	set, _ := benchSet(b)
	b.ReportAllocs()
	for b.Loop() {
		set.WritePrometheus(io.Discard)
		metrics.WriteProcessMetrics(io.Discard)
	}
}
