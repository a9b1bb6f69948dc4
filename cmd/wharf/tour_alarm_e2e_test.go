package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/internal/testenv"
)

// startSwitchable runs an upstream that answers 200, or 500 while broken is set.
func startSwitchable(t *testing.T, broken *atomic.Bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if broken.Load() {
			http.Error(w, "broken", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// TestTourStrategyOnTheGatewaysOwnErrorRate is the README's alarm tour: an
// admin adds a service and its route, the service's team puts a strategy
// on the error rate the gateway feeds by itself (nothing else configured),
// the upstream starts failing and `wharf strategy problems` shows the
// PROBLEM; it recovers and the problem is gone (the judge sent OK).
func TestTourStrategyOnTheGatewaysOwnErrorRate(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "wharf.yaml")
	if err := os.WriteFile(cfg, []byte("monitoring: {min_step: 1s}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startWharf(t, dir, nil, append(serveArgs(t), "--agent-local=false", "--config", cfg)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	admin := p.waitFor(reToken, 5*time.Second)[1]
	c := cli{t: t, dir: dir, env: []string{"WHARF_SERVER=" + gw, "WHARF_TOKEN=" + admin}}
	write := func(name, body string) string {
		path := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}

	var broken atomic.Bool
	c.ok("service", "put", "shop", "-f", write("svc.yaml", fmt.Sprintf("{instances: [{addr: %q}]}", startSwitchable(t, &broken))))
	c.ok("route", "put", "shop", "-f", write("route.yaml", "{path: /shop/, service: shop}"))
	tok := call(t, "POST", gw+"/api/v1/tokens", admin, map[string]any{"name": "shop", "scopes": []string{"team:shop"}})
	if tok.status != 201 {
		t.Fatalf("create team token: %d %s", tok.status, tok.raw)
	}
	shop := c.with("WHARF_TOKEN=" + tok.body["token"].(string))
	out := shop.ok("strategy", "create", "-f", write("errors.json", `{"id": "shop-errors", "metric": "wharf.service.error_rate",
		"tags": {"service": "shop"}, "func": "all(#3)", "operator": ">", "right_value": 0.5, "max_step": 3, "priority": 1,
		"note": "shop answers errors"}`))
	wantLines(t, "create", out, "Created strategy shop-errors (team shop): wharf.service.error_rate all(#3) > 0.5.")

	// traffic sends requests in every step until cond holds.
	traffic := func(want int, cond func() error) {
		t.Helper()
		testenv.Eventually(t, 60*time.Second, func() error {
			for range 5 {
				if code, _ := get(t, gw+"/shop/x"); code != want {
					return fmt.Errorf("shop answered %d, want %d", code, want)
				}
			}
			return cond()
		})
	}
	problems := func() (monitor.ProblemList, string, error) {
		var l monitor.ProblemList
		out, errOut, code := runWharf(t, dir, shop.env, "strategy", "problems", "shop-errors", "-o", "json")
		if code != 0 {
			return l, "", fmt.Errorf("strategy problems: exit %d: %s", code, errOut)
		}
		if err := json.Unmarshal([]byte(out), &l); err != nil {
			return l, "", fmt.Errorf("strategy problems -o json: %v: %s", err, out)
		}
		return l, shop.ok("strategy", "problems"), nil
	}

	// Healthy: the error rate is fed (0) and nothing fires.
	traffic(200, func() error {
		vs, err := queryKnown(t, dir, c.env, "wharf.service.error_rate", "service=shop")
		if err != nil || len(vs) == 0 || vs[len(vs)-1] != 0 {
			return fmt.Errorf("want a fed error rate of 0, got %v (%v)", vs, err)
		}
		return nil
	})
	if l, table, err := problems(); err != nil || len(l.Problems) != 0 || !strings.Contains(table, "No open problems.") {
		t.Fatalf("healthy service has problems: %v %+v\n%s", err, l, table)
	}

	broken.Store(true)
	var table string
	traffic(500, func() error {
		l, tb, err := problems()
		if err != nil {
			return err
		}
		if len(l.Problems) != 1 || l.Problems[0].Status != "PROBLEM" || l.Problems[0].Metric != "wharf.service.error_rate" {
			return fmt.Errorf("want one PROBLEM, got %+v", l.Problems)
		}
		table = tb
		return nil
	})
	wantLines(t, "problems table", table, "STRATEGY", "shop-errors", "PROBLEM", "wharf.service.error_rate", "service=shop")

	// Another team sees none of it.
	other := call(t, "POST", gw+"/api/v1/tokens", admin, map[string]any{"name": "bank", "scopes": []string{"team:bank"}})
	if other.status != 201 {
		t.Fatalf("create bank token: %d %s", other.status, other.raw)
	}
	wantLines(t, "other team", c.with("WHARF_TOKEN="+other.body["token"].(string)).ok("strategy", "problems"), "No open problems.")

	broken.Store(false)
	traffic(200, func() error {
		l, _, err := problems()
		if err != nil {
			return err
		}
		if len(l.Problems) != 0 {
			return fmt.Errorf("still open: %+v", l.Problems)
		}
		return nil
	})
}

// queryKnown runs `wharf metrics query -o json` for one series of this
// host over the last minute and returns its known values.
func queryKnown(t *testing.T, dir string, env []string, metricName, tags string) ([]float64, error) {
	t.Helper()
	host, err := os.Hostname()
	if err != nil {
		return nil, err
	}
	out, errOut, code := runWharf(t, dir, env, "metrics", "query", "--endpoint", host, "--metric", metricName, "--tags", tags, "--from", "1m", "-o", "json")
	if code != 0 {
		return nil, fmt.Errorf("metrics query: exit %d: %s", code, errOut)
	}
	var rep monitor.QueryReply
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Series) != 1 {
		return nil, fmt.Errorf("metrics query -o json: %v: %s", err, out)
	}
	var vs []float64
	for _, s := range rep.Series[0].Values {
		if v := float64(s.Value); !math.IsNaN(v) {
			vs = append(vs, v)
		}
	}
	return vs, nil
}
