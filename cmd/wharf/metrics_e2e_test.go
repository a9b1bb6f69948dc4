package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/wharfhq/wharf/internal/promexp"
	"github.com/wharfhq/wharf/internal/promexp/promcheck"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestMetricsPrometheus reads serve's /metrics as Prometheus does, after
// traffic through the gateway, the functions and a deploy: the Prometheus
// text parser accepts it, every family has HELP and TYPE, histograms have
// le buckets up to +Inf; then a real Prometheus scrapes it and answers
// PromQL over Wharf's series, histogram_quantile included.
func TestMetricsPrometheus(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "wharf.yaml")
	if err := os.WriteFile(cfg, []byte("services:\n  - name: shop\nroutes:\n  - {name: shop, path: /shop, service: shop}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { killUnder(dir) })
	p := startWharf(t, dir, nil, append(serveArgs(t), "--config", cfg)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	internal := p.waitFor(reInternal, 5*time.Second)[1]
	tok := p.waitFor(reToken, 5*time.Second)[1]
	env := []string{"WHARF_SERVER=" + gw}
	bin := buildSampleApp(t, t.TempDir())
	if out, errOut, code := runWharf(t, dir, env, "push", bundleDir(t, bin, ""), "--version", "1.0.0"); code != 0 {
		t.Fatalf("push: exit %d\n%s\n%s", code, out, errOut)
	}
	testenv.Eventually(t, 20*time.Second, func() error { // the local agent reports in within a heartbeat
		if _, errOut, code := runWharf(t, dir, env, "deploy", "shop", "1.0.0", "--watch"); code != 0 {
			return fmt.Errorf("deploy: %s", errOut)
		}
		return nil
	})
	traffic := func() {
		for range 5 {
			call(t, "GET", gw+"/shop/", "", nil)
			call(t, "GET", gw+"/api/v1/whoami", tok, nil)
			call(t, "GET", gw+"/api/v1/whoami", "", nil)
		}
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if code, body := get(t, gw+"/shop/"); code != 200 {
			return fmt.Errorf("GET /shop/: %d %q", code, body)
		}
		return nil
	})
	traffic()

	t.Run("exposition", func(t *testing.T) {
		r := call(t, "GET", internal+"/metrics", "", nil)
		if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain; version=0.0.4") {
			t.Fatalf("/metrics: %d %s", r.status, r.header.Get("Content-Type"))
		}
		body := r.raw
		fams, err := promcheck.Parse(body)
		if err != nil {
			t.Fatalf("the exposition is not what Prometheus reads as it is:\n%v", err)
		}
		want := map[string]dto.MetricType{
			"wharf_build_info":                             dto.MetricType_GAUGE,
			"wharf_gateway_requests_total":                 dto.MetricType_COUNTER,
			"wharf_gateway_requests_in_flight":             dto.MetricType_GAUGE,
			"wharf_gateway_request_duration_seconds":       dto.MetricType_HISTOGRAM,
			"wharf_gateway_route_requests_total":           dto.MetricType_COUNTER,
			"wharf_gateway_route_request_duration_seconds": dto.MetricType_HISTOGRAM,
			"wharf_deploy_created_total":                   dto.MetricType_COUNTER,
			"wharf_deploy_finished_total":                  dto.MetricType_COUNTER,
			"wharf_deploy_duration_seconds":                dto.MetricType_HISTOGRAM,
			"wharf_agent_tasks_verified_total":             dto.MetricType_COUNTER,
			"wharf_bus_consumer_processed_total":           dto.MetricType_COUNTER,
			"wharf_bus_outbox_pending":                     dto.MetricType_GAUGE,
			"go_goroutines":                                dto.MetricType_GAUGE,
			"go_gc_duration_seconds":                       dto.MetricType_SUMMARY,
			"process_cpu_seconds_total":                    dto.MetricType_COUNTER,
		}
		for name, typ := range want {
			mf := fams[name]
			if mf == nil {
				t.Errorf("%s: missing", name)
				continue
			}
			if mf.GetType() != typ {
				t.Errorf("%s: type %v, want %v", name, mf.GetType(), typ)
			}
		}
		if h := histogram(fams, "wharf_gateway_route_request_duration_seconds", "route", "shop"); h == nil || h.GetSampleCount() == 0 {
			t.Errorf("no observations in the shop route's latency histogram: %v", h)
		}
		if h := histogram(fams, "wharf_gateway_request_duration_seconds", "", ""); h == nil || len(h.GetBucket()) != len(promexp.LatencyBuckets())+1 {
			t.Errorf("gateway latency histogram: %v, want %d le buckets and +Inf", h, len(promexp.LatencyBuckets()))
		}
		// Names and labels follow the Prometheus conventions.
		cat, err := promexp.NewCatalog(metricFamilies()...)
		if err != nil {
			t.Fatal(err)
		}
		for name, mf := range fams {
			if !strings.HasPrefix(name, "wharf_") {
				continue
			}
			f, ok := cat.Lookup(name)
			if !ok {
				t.Errorf("%s is not in the catalog", name)
				continue
			}
			if err := f.CheckConventions(); err != nil {
				t.Error(err)
			}
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() != "le" && l.GetName() != "quantile" && !slices.Contains(f.Labels, l.GetName()) {
						t.Errorf("%s has label %s, which its catalog entry does not list (%v)", name, l.GetName(), f.Labels)
					}
				}
			}
		}
		if strings.Contains(body, tok) || strings.Contains(body, tok[23:]) {
			t.Fatal("/metrics holds the admin token")
		}
	})

	t.Run("prometheus scrapes serve", func(t *testing.T) {
		target := strings.TrimPrefix(internal, "http://")
		prom := testenv.StartPrometheus(t, testenv.PrometheusOptions{Targets: []string{target}, ScrapeInterval: time.Second})
		queries := []string{
			`up{job="wharf"} == 1`,
			`wharf_build_info{role="serve"}`,
			`sum by (code) (wharf_gateway_requests_total)`,
			`wharf_deploy_finished_total{state="succeeded"}`,
			`histogram_quantile(0.99, sum by (le) (rate(wharf_gateway_request_duration_seconds_bucket[30s])))`,
			`histogram_quantile(0.5, sum by (le, route) (rate(wharf_gateway_route_request_duration_seconds_bucket{route="shop"}[30s])))`,
		}
		testenv.Eventually(t, 60*time.Second, func() error {
			traffic() // rate() needs increases between two scrapes
			var errs []error
			for _, q := range queries {
				res, err := prom.Query(q)
				switch {
				case err != nil:
					errs = append(errs, err)
				case len(res) == 0:
					errs = append(errs, fmt.Errorf("%s: no series yet", q))
				case res[0].Value == "NaN":
					errs = append(errs, fmt.Errorf("%s: NaN", q))
				}
			}
			if len(errs) > 0 {
				tg, _ := prom.Targets()
				return fmt.Errorf("%w (targets %v)", errors.Join(errs...), tg)
			}
			return nil
		})
		// The quantile is a latency in seconds within the buckets' range.
		res, _ := prom.Query(queries[4])
		if v := res[0].Value; v == "+Inf" || strings.HasPrefix(v, "-") {
			t.Fatalf("p99 latency %s", v)
		}
	})
}

// histogram finds a histogram series of a family, by one label (or the first).
func histogram(fams map[string]*dto.MetricFamily, name, label, value string) *dto.Histogram {
	mf := fams[name]
	if mf == nil {
		return nil
	}
	for _, m := range mf.GetMetric() {
		if label == "" {
			return m.GetHistogram()
		}
		for _, l := range m.GetLabel() {
			if l.GetName() == label && l.GetValue() == value {
				return m.GetHistogram()
			}
		}
	}
	return nil
}
