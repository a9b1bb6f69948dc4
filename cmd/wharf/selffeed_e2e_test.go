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
	"regexp"
	"strconv"
	"strings"
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
	internal := p.waitFor(reInternal, 5*time.Second)[1]
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
	// The feed counts its pushes on /metrics.
	r := call(t, "GET", internal+"/metrics", "", nil)
	if !regexp.MustCompile(`(?m)^wharf_feed_pushes_total\{source="gateway",result="ok"\} [1-9]`).MatchString(r.raw) ||
		!regexp.MustCompile(`(?m)^wharf_feed_points_total\{source="gateway"\} [1-9]`).MatchString(r.raw) {
		t.Errorf("feed counters missing from /metrics")
	}
}

// TestServeAgentFeedsHostAndInstanceMetrics: serve's local agent pushes
// its host's cpu, memory, load and disk and, once an app is deployed, each
// supervised instance's state, with nothing configured but the step; the
// series index and the query API show them under the agent's host id.
func TestServeAgentFeedsHostAndInstanceMetrics(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "wharf.yaml")
	if err := os.WriteFile(cfg, []byte("monitoring: {min_step: 1s}\nservices:\n  - name: shop\nroutes:\n  - {name: shop, path: /shop, service: shop}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { killUnder(dir) })
	p := startWharf(t, dir, nil, append(serveArgs(t), "--config", cfg)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	admin := p.waitFor(reToken, 5*time.Second)[1]
	host := hostID()
	series := func(metric string) ([]monitor.SeriesInfo, error) {
		q := url.Values{"endpoint": {host}, "metric": {metric}}
		r := call(t, "GET", gw+"/api/v1/metrics/series?"+q.Encode(), admin, nil)
		if r.status != 200 {
			return nil, fmt.Errorf("series %s: %d %s", metric, r.status, r.raw)
		}
		var rep monitor.SeriesReply
		if err := json.Unmarshal([]byte(r.raw), &rep); err != nil {
			return nil, err
		}
		return rep.Series, nil
	}
	// latest returns the newest known value of a series.
	latest := func(metric, tags string) (float64, error) {
		q := url.Values{"endpoint": {host}, "metric": {metric}, "tags": {tags},
			"start": {strconv.FormatInt(time.Now().Unix()-60, 10)}, "end": {strconv.FormatInt(time.Now().Unix()+2, 10)}}
		r := call(t, "GET", gw+"/api/v1/metrics/query?"+q.Encode(), admin, nil)
		var rep monitor.QueryReply
		if r.status != 200 || json.Unmarshal([]byte(r.raw), &rep) != nil || len(rep.Series) != 1 {
			return 0, fmt.Errorf("query %s: %d %s", metric, r.status, r.raw)
		}
		v := math.NaN()
		for _, s := range rep.Series[0].Values {
			if !math.IsNaN(float64(s.Value)) {
				v = float64(s.Value)
			}
		}
		if math.IsNaN(v) {
			return 0, fmt.Errorf("%s{%s}: no value yet", metric, tags)
		}
		return v, nil
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		for metric, ok := range map[string]func(float64) bool{
			"cpu.busy":            func(v float64) bool { return v >= 0 && v <= 100 },
			"mem.memused.percent": func(v float64) bool { return v > 0 && v < 100 },
			"load.1min":           func(v float64) bool { return v >= 0 },
		} {
			v, err := latest(metric, "")
			if err != nil {
				return err
			}
			if !ok(v) {
				return fmt.Errorf("%s = %v", metric, v)
			}
		}
		df, err := series("df.bytes.used.percent")
		if err != nil || len(df) != 1 || !strings.HasPrefix(df[0].Tags, "mount=") {
			return fmt.Errorf("df.bytes.used.percent series: %v %+v", err, df)
		}
		return nil
	})

	env := []string{"WHARF_SERVER=" + gw}
	bin := buildSampleApp(t, t.TempDir())
	if out, errOut, code := runWharf(t, dir, env, "push", bundleDir(t, bin, ""), "--version", "1.0.0"); code != 0 {
		t.Fatalf("push: exit %d\n%s\n%s", code, out, errOut)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		if _, errOut, code := runWharf(t, dir, env, "deploy", "shop", "1.0.0", "--watch"); code != 0 {
			return fmt.Errorf("deploy: %s", errOut)
		}
		return nil
	})
	testenv.Eventually(t, 30*time.Second, func() error {
		up, err := series("wharf.instance.up")
		if err != nil || len(up) == 0 {
			return fmt.Errorf("wharf.instance.up series: %v %+v", err, up)
		}
		for _, s := range up {
			if !strings.Contains(s.Tags, "app=shop") || !strings.Contains(s.Tags, "version=1.0.0") {
				return fmt.Errorf("instance tags %q", s.Tags)
			}
			if v, err := latest("wharf.instance.up", s.Tags); err != nil || v != 1 {
				return fmt.Errorf("wharf.instance.up{%s} = %v %v", s.Tags, v, err)
			}
			if v, err := latest("wharf.instance.state", s.Tags); err != nil || v != 1 {
				return fmt.Errorf("wharf.instance.state{%s} = %v %v", s.Tags, v, err)
			}
		}
		return nil
	})
}

// TestAgentRoleFeedsOverHTTPWithAnIngestToken: an agent process without the
// monitor in it pushes its host metrics to agent.server over HTTP with the
// ingest token of monitoring.feed_token_file; one given a token without
// the ingest scope logs that the push was refused, without the token.
func TestAgentRoleFeedsOverHTTPWithAnIngestToken(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "wharf.yaml")
	if err := os.WriteFile(cfg, []byte("monitoring: {min_step: 1s}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	nsqd := closedAddr(t)
	args := []string{"serve", "--gateway-listen", "127.0.0.1:0", "--internal-listen", "127.0.0.1:0",
		"--nsq-embedded-tcp", nsqd, "--nsq-embedded-http", "127.0.0.1:0", "--shutdown-grace", "5s", "--agent-local=false", "--config", cfg}
	p := startWharf(t, dir, nil, args...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	admin := p.waitFor(reToken, 5*time.Second)[1]
	tokenFile := func(name, scope string) (string, string) {
		r := call(t, "POST", gw+"/api/v1/tokens", admin, map[string]any{"name": name, "scopes": []string{scope}})
		if r.status != 201 {
			t.Fatalf("create %s token: %d %s", scope, r.status, r.raw)
		}
		tok := r.body["token"].(string)
		f := filepath.Join(dir, name+".token")
		if err := os.WriteFile(f, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return f, tok
	}
	agentFile, _ := tokenFile("agents", "agent")
	ingestFile, _ := tokenFile("feed", "ingest")
	wrongFile, wrong := tokenFile("wrong", "agent")
	agentEnv := func(feedFile string) []string {
		return []string{"WHARF_NSQ_NSQD=" + nsqd, "WHARF_AGENT_SERVER=" + gw, "WHARF_AGENT_TOKEN_FILE=" + agentFile,
			"WHARF_MONITORING_MIN_STEP=1s", "WHARF_MONITORING_FEED_TOKEN_FILE=" + feedFile}
	}
	for id, f := range map[string]string{"feeding-host": ingestFile, "refused-host": wrongFile} {
		adir := t.TempDir()
		t.Cleanup(func() { killUnder(adir) })
		a := startWharf(t, adir, agentEnv(f), roleArgs("agent", "--agent-id", id)...)
		a.waitFor(reRoleInternal, 30*time.Second)
		if id == "refused-host" {
			re := regexp.MustCompile(`cannot feed own metrics.*403 Forbidden.*lacks scope: need one of ingest`)
			testenv.Eventually(t, 30*time.Second, func() error {
				if !re.MatchString(a.errOut()) {
					return fmt.Errorf("the refused push is not logged yet")
				}
				return nil
			})
			if strings.Contains(a.errOut(), wrong) {
				t.Fatal("the feed token is in the agent's log")
			}
		}
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		q := url.Values{"endpoint": {"feeding-host"}, "metric": {"mem.memused.percent"},
			"start": {strconv.FormatInt(time.Now().Unix()-60, 10)}, "end": {strconv.FormatInt(time.Now().Unix()+2, 10)}}
		r := call(t, "GET", gw+"/api/v1/metrics/query?"+q.Encode(), admin, nil)
		var rep monitor.QueryReply
		if r.status != 200 || json.Unmarshal([]byte(r.raw), &rep) != nil || len(rep.Series) != 1 || !rep.Series[0].Found {
			return fmt.Errorf("query: %d %s", r.status, r.raw)
		}
		for _, s := range rep.Series[0].Values {
			if v := float64(s.Value); v > 0 && v < 100 {
				return nil
			}
		}
		return fmt.Errorf("no memory value yet: %s", r.raw)
	})
	r := call(t, "GET", gw+"/api/v1/metrics/series?endpoint=refused-host", admin, nil)
	var rep monitor.SeriesReply
	if r.status != 200 || json.Unmarshal([]byte(r.raw), &rep) != nil || len(rep.Series) != 0 {
		t.Fatalf("the refused agent's series: %d %s", r.status, r.raw)
	}
}
