package testenv

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// StartPrometheus scrapes the targets it is given and answers instant
// queries; a bad query is an error, not an empty result.
func TestPrometheusScrapesAndQueries(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		io.WriteString(w, "# HELP testenv_up_total A test counter.\n# TYPE testenv_up_total counter\ntestenv_up_total{kind=\"x\"} 7\n")
	}), ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	p := StartPrometheus(t, PrometheusOptions{Targets: []string{ln.Addr().String()}})
	Eventually(t, 30*time.Second, func() error {
		res, err := p.Query(`testenv_up_total{kind="x"}`)
		if err != nil {
			return err
		}
		if len(res) != 1 || res[0].Value != "7" || res[0].Metric["job"] != "wharf" {
			tg, _ := p.Targets()
			return fmt.Errorf("result %v (targets %v)", res, tg)
		}
		return nil
	})
	if _, err := p.Query(`rate(testenv_up_total`); err == nil || !strings.Contains(err.Error(), "error") {
		t.Fatalf("a bad query: %v", err)
	}
}
