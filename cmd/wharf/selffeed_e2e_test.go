package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/internal/testenv"
)

// startFailing runs an upstream that answers every request with 500.
func startFailing(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "broken", http.StatusInternalServerError)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// TestServeFeedsItsOwnRouteMetrics: with nothing configured but a short
// monitoring.min_step, serve's gateway pushes per route and per service
// requests, errors, error_rate and latency percentiles each step; the
// query API shows them: a healthy upstream's route has requests and an
// error rate of 0, one that answers 500 and one that does not answer
// have an error rate of 1.
func TestServeFeedsItsOwnRouteMetrics(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "wharf.yaml")
	yaml := fmt.Sprintf(`monitoring: {min_step: 1s}
services:
  - {name: shop, instances: [{addr: "%s"}]}
  - {name: broken, instances: [{addr: "%s"}]}
  - {name: gone, instances: [{addr: "%s"}]}
routes:
  - {name: shop, path: /shop/, service: shop}
  - {name: broken, path: /broken/, service: broken}
  - {name: gone, path: /gone/, service: gone}
`, startEcho(t), startFailing(t), closedAddr(t))
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startWharf(t, dir, nil, append(serveArgs(t), "--agent-local=false", "--config", cfg)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	admin := p.waitFor(reToken, 5*time.Second)[1]
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Unix() - 5

	// query returns the samples of one of this node's series (unknown left out).
	query := func(metric, tags string) ([]float64, error) {
		q := url.Values{"endpoint": {host}, "metric": {metric}, "tags": {tags},
			"start": {strconv.FormatInt(start, 10)}, "end": {strconv.FormatInt(time.Now().Unix()+2, 10)}}
		r := call(t, "GET", gw+"/api/v1/metrics/query?"+q.Encode(), admin, nil)
		if r.status != 200 {
			return nil, fmt.Errorf("query %s %s: %d %s", metric, tags, r.status, r.raw)
		}
		var rep monitor.QueryReply
		if err := json.Unmarshal([]byte(r.raw), &rep); err != nil || len(rep.Series) != 1 {
			return nil, fmt.Errorf("query %s %s: %v %s", metric, tags, err, r.raw)
		}
		var out []float64
		for _, s := range rep.Series[0].Values {
			if v := float64(s.Value); !math.IsNaN(v) {
				out = append(out, v)
			}
		}
		return out, nil
	}
	maxOf := func(vs []float64) float64 {
		m := math.Inf(-1)
		for _, v := range vs {
			m = max(m, v)
		}
		return m
	}
	// want checks that a series has a known value and its largest is want.
	want := func(metric, tags string, check func(max float64) bool, what string) error {
		vs, err := query(metric, tags)
		if err != nil {
			return err
		}
		if len(vs) == 0 || !check(maxOf(vs)) {
			return fmt.Errorf("%s{%s}: %v, want %s", metric, tags, vs, what)
		}
		return nil
	}
	positive := func(m float64) bool { return m > 0 }
	one := func(m float64) bool { return m > 0.999 && m <= 1 }
	zero := func(m float64) bool { return m == 0 }

	testenv.Eventually(t, 30*time.Second, func() error {
		for range 5 { // traffic in every step until the points show
			if code, _ := get(t, gw+"/shop/x"); code != 200 {
				return fmt.Errorf("shop answered %d", code)
			}
			if code, _ := get(t, gw+"/broken/x"); code != 500 {
				return fmt.Errorf("broken answered %d", code)
			}
			if code, _ := get(t, gw+"/gone/x"); code < 500 {
				return fmt.Errorf("gone answered %d", code)
			}
		}
		checks := []error{
			want("wharf.route.requests", "route=shop,service=shop", positive, "> 0"),
			want("wharf.route.error_rate", "route=shop,service=shop", zero, "0"),
			want("wharf.route.latency_p50", "route=shop,service=shop", positive, "> 0"),
			want("wharf.route.latency_p99", "route=shop,service=shop", positive, "> 0"),
			want("wharf.route.errors", "route=broken,service=broken", positive, "> 0"),
			want("wharf.route.error_rate", "route=broken,service=broken", one, "1"),
			want("wharf.route.error_rate", "route=gone,service=gone", one, "1 (no answer counts as an error)"),
			want("wharf.service.requests", "service=shop", positive, "> 0"),
			want("wharf.service.error_rate", "service=broken", one, "1"),
		}
		for _, err := range checks {
			if err != nil {
				return err
			}
		}
		return nil
	})
}
