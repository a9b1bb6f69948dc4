package testenv

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const prometheusInstall = "apt-get install -y prometheus (or: make deps)"

// Prometheus is a running Prometheus server.
type Prometheus struct {
	*Process
	// URL is Prometheus' base URL (http://127.0.0.1:port).
	URL string
}

// PrometheusOptions tunes StartPrometheus.
type PrometheusOptions struct {
	// Targets are host:port addresses scraped at /metrics as job "wharf".
	Targets []string
	// ScrapeInterval defaults to 1 s; rules are evaluated as often.
	ScrapeInterval time.Duration
	// Rules is the YAML of a rule file (groups: ...), loaded when set.
	Rules string
	// Alertmanager is the host:port Prometheus sends alerts to (API v2),
	// with AlertmanagerToken as its bearer credentials when set.
	Alertmanager      string
	AlertmanagerToken string
}

// StartPrometheus starts Debian's prometheus with a scrape config for the
// targets, its storage in a temp dir, and returns once /-/ready says 200.
func StartPrometheus(t testing.TB, opts PrometheusOptions) *Prometheus {
	t.Helper()
	bin := binary(t, "prometheus", prometheusInstall)
	if opts.ScrapeInterval <= 0 {
		opts.ScrapeInterval = time.Second
	}
	dir := t.TempDir()
	targets, _ := json.Marshal(opts.Targets) // a JSON list is valid YAML
	iv := strconv.FormatInt(opts.ScrapeInterval.Milliseconds(), 10) + "ms"
	cfg := "global:\n  scrape_interval: " + iv + "\n  scrape_timeout: " + iv + "\n  evaluation_interval: " + iv + "\n" +
		"scrape_configs:\n  - job_name: wharf\n    static_configs:\n      - targets: " + string(targets) + "\n"
	if opts.Rules != "" {
		rules := filepath.Join(dir, "rules.yml")
		if err := os.WriteFile(rules, []byte(opts.Rules), 0o600); err != nil {
			t.Fatalf("cannot write the prometheus rules: %v", err)
		}
		cfg += "rule_files: [" + strconv.Quote(rules) + "]\n"
	}
	if opts.Alertmanager != "" {
		cfg += "alerting:\n  alertmanagers:\n    - api_version: v2\n      static_configs:\n        - targets: [" + strconv.Quote(opts.Alertmanager) + "]\n"
		if opts.AlertmanagerToken != "" {
			cfg += "      authorization:\n        credentials: " + strconv.Quote(opts.AlertmanagerToken) + "\n"
		}
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatalf("cannot write the prometheus config: %v", err)
	}
	port := FreePort(t)
	args := []string{"--config.file=" + cfgPath, "--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + loopback(port), "--log.level=warn"}
	if opts.Alertmanager != "" {
		// Alerts of the first evaluations are dropped until the
		// alertmanager is discovered; resend within a second, not a minute.
		args = append(args, "--rules.alert.resend-delay=1s")
	}
	p := newProcess(t, "prometheus", bin, loopback(port), dir, args...)
	p.Start()
	pr := &Prometheus{Process: p, URL: "http://" + loopback(port)}
	Eventually(t, 60*time.Second, func() error {
		resp, err := http.Get(pr.URL + "/-/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("prometheus /-/ready: %s", resp.Status)
		}
		return nil
	})
	return pr
}

// PromSample is one series of an instant query's result.
type PromSample struct {
	Metric map[string]string
	// Value is the sample value as Prometheus wrote it ("NaN", "+Inf", "0.25").
	Value string
}

// Query runs an instant PromQL query through /api/v1/query and returns the
// vector it yields; an error for anything but a successful vector result.
func (p *Prometheus) Query(query string) ([]PromSample, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(p.URL + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return nil, fmt.Errorf("cannot query prometheus: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("cannot read the prometheus answer: %w", err)
	}
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("cannot decode the prometheus answer %q: %w", body, err)
	}
	if r.Status != "success" || r.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: %s %s (result type %q)", query, r.Status, r.Error, r.Data.ResultType)
	}
	out := make([]PromSample, 0, len(r.Data.Result))
	for _, s := range r.Data.Result {
		v, _ := s.Value[1].(string)
		out = append(out, PromSample{Metric: s.Metric, Value: v})
	}
	return out, nil
}

// Targets returns each scrape target's health ("up", "down", "unknown") and
// last error, keyed by its scrape URL.
func (p *Prometheus) Targets() (map[string]string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(p.URL + "/api/v1/targets")
	if err != nil {
		return nil, fmt.Errorf("cannot list prometheus targets: %w", err)
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			ActiveTargets []struct {
				ScrapeURL string `json:"scrapeUrl"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("cannot decode prometheus targets: %w", err)
	}
	out := map[string]string{}
	for _, a := range r.Data.ActiveTargets {
		out[a.ScrapeURL] = strings.TrimSpace(a.Health + " " + a.LastError)
	}
	return out, nil
}
