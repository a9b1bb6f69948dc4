package main

import (
	"net"
	"os"
	"testing"

	"github.com/valyala/fasthttp"
)

// serve answers every GET with page on a loopback port and returns its URL.
func serve(t *testing.T, page string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(page) }}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return "http://" + ln.Addr().String() + "/metrics"
}

// TestCounterSum reads both servers' exposition: labelled (Wharf) and
// bare (VictoriaMetrics) samples, and never a metric that only shares the
// name's prefix.
func TestCounterSum(t *testing.T) {
	url := serve(t, `# HELP x
wharf_monitor_series_points_total{result="accepted"} 120
wharf_monitor_series_points_total{result="stale"} 3
wharf_monitor_series_points_totally 1000
vm_rows_added_to_storage_total 4.5e+06
`)
	c := &fasthttp.Client{}
	for _, tc := range []struct {
		name string
		want float64
	}{{"wharf_monitor_series_points_total", 123}, {"vm_rows_added_to_storage_total", 4.5e6}} {
		got, err := counterSum(c, url, tc.name)
		if err != nil || got != tc.want {
			t.Errorf("counterSum(%s) = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	if got, err := counterWith(c, url, "wharf_monitor_series_points_total", `result="accepted"`); err != nil || got != 120 {
		t.Errorf("counterWith(accepted) = %v, %v; want 120", got, err)
	}
	if _, err := counterSum(c, url, "absent_total"); err == nil {
		t.Error("a missing metric gave no error")
	}
}

// TestProcReadsThisProcess: RSS and CPU of a real process (this one).
func TestProcReadsThisProcess(t *testing.T) {
	rss, err := procStatusKB(os.Getpid(), "VmRSS:")
	if err != nil || rss <= 0 {
		t.Errorf("VmRSS = %d, %v", rss, err)
	}
	if _, err := cpuSeconds(os.Getpid()); err != nil {
		t.Error(err)
	}
	if _, err := procStatusKB(os.Getpid(), "NoSuchField:"); err == nil {
		t.Error("a missing field gave no error")
	}
}
