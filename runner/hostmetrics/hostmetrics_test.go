package hostmetrics

import (
	"io/fs"
	"math"
	"os"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/feed"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func fixture(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + dir + "/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseStatAndUsage(t *testing.T) {
	c0, err := ParseStat(fixture(t, "t0", "stat"))
	if err != nil {
		t.Fatal(err)
	}
	if c0 != (CPU{1000, 50, 300, 8000, 100, 10, 20, 5}) {
		t.Fatalf("t0: %+v", c0)
	}
	c1, err := ParseStat(fixture(t, "t1", "stat"))
	if err != nil {
		t.Fatal(err)
	}
	// 1710 jiffies passed: user +600, system +200, idle +800, iowait +100, steal +10.
	u, ok := c1.Usage(c0)
	total := float64(c1.Total() - c0.Total())
	if !ok || !near(u.User, 100*600/total) || !near(u.Idle, 100*800/total) || !near(u.Busy, 100-u.Idle) || !near(u.IOWait, 100*100/total) {
		t.Fatalf("usage %+v (ok %v, total %v)", u, ok, total)
	}
	if _, ok := c0.Usage(c1); ok {
		t.Fatal("usage with counters going back")
	}
	if _, ok := c0.Usage(c0); ok {
		t.Fatal("usage without time passing")
	}
	for _, bad := range []string{"", "intr 1 2\n", "cpu 1 2\n", "cpu 1 x 3 4 5\n"} {
		if _, err := ParseStat([]byte(bad)); err == nil {
			t.Errorf("ParseStat(%q) accepted", bad)
		}
	}
	// Old kernels: only four fields after "cpu".
	if c, err := ParseStat([]byte("cpu 1 2 3 4\n")); err != nil || c.Idle != 4 {
		t.Errorf("four fields: %+v %v", c, err)
	}
}

func TestParseMeminfo(t *testing.T) {
	m, err := ParseMeminfo(fixture(t, "t0", "meminfo"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Total != 8000000<<10 || m.Available != 6000000<<10 || m.Free != 1000000<<10 || m.SwapFree != 1500000<<10 {
		t.Fatalf("t0 %+v", m)
	}
	// No MemAvailable: free + buffers + cached.
	m, err = ParseMeminfo(fixture(t, "t1", "meminfo"))
	if err != nil || m.Available != 3000000<<10 {
		t.Fatalf("t1 %+v %v", m, err)
	}
	for _, bad := range []string{"", "MemFree: 1 kB\n", "MemTotal: x kB\n"} {
		if _, err := ParseMeminfo([]byte(bad)); err == nil {
			t.Errorf("ParseMeminfo(%q) accepted", bad)
		}
	}
}

func TestParseLoadavg(t *testing.T) {
	l, err := ParseLoadavg(fixture(t, "t0", "loadavg"))
	if err != nil || l != (Load{0.52, 1.25, 2}) {
		t.Fatalf("%+v %v", l, err)
	}
	for _, bad := range []string{"", "1 2", "1 x 3 4/5 6"} {
		if _, err := ParseLoadavg([]byte(bad)); err == nil {
			t.Errorf("ParseLoadavg(%q) accepted", bad)
		}
	}
}

// swapFS is a /proc whose files change between readings.
type swapFS struct{ cur fs.FS }

func (s *swapFS) Open(name string) (fs.File, error) { return s.cur.Open(name) }

// TestCollectorPoints: the first step has memory, load and disk; cpu.*
// come from the second on, as the share of each state between readings.
func TestCollectorPoints(t *testing.T) {
	proc := &swapFS{cur: os.DirFS("testdata/t0")}
	c := New(Options{Proc: proc, Mounts: []string{t.TempDir(), "/does/not/exist"}, Endpoint: "host-1", Step: 30 * time.Second})
	byName := func(pts []feed.Point) map[string]feed.Point {
		out := map[string]feed.Point{}
		for _, p := range pts {
			if p.Endpoint != "host-1" || p.Step != 30 || p.CounterType != feed.Gauge || p.Timestamp != 1_800_000_000 {
				t.Fatalf("point %+v", p)
			}
			out[p.Metric] = p
		}
		return out
	}
	now := time.Unix(1_800_000_000, 0)
	first := byName(c.Collect(now))
	if _, ok := first["cpu.busy"]; ok {
		t.Fatal("cpu.busy from one reading")
	}
	if p := first["mem.memused.percent"]; !near(p.Value, 25) {
		t.Errorf("mem.memused.percent %v, want 25", p.Value)
	}
	if p := first["mem.swapused.percent"]; !near(p.Value, 25) {
		t.Errorf("mem.swapused.percent %v, want 25", p.Value)
	}
	if p := first["load.1min"]; p.Value != 0.52 {
		t.Errorf("load.1min %v", p.Value)
	}
	d, ok := first["df.bytes.used.percent"]
	if !ok || d.Value < 0 || d.Value > 100 || d.Tags == "" {
		t.Errorf("df.bytes.used.percent %+v", d)
	}
	proc.cur = os.DirFS("testdata/t1")
	second := byName(c.Collect(now))
	if p, ok := second["cpu.busy"]; !ok || p.Value <= 0 || p.Value >= 100 {
		t.Errorf("cpu.busy %+v", p)
	}
	if _, ok := second["mem.swapused.percent"]; ok {
		t.Error("swap percent without swap")
	}
	if p := second["mem.memused.percent"]; !near(p.Value, 25) {
		t.Errorf("t1 mem.memused.percent %v, want 25", p.Value)
	}
	// A /proc that cannot be read loses only its parts.
	proc.cur = os.DirFS(t.TempDir())
	if third := byName(c.Collect(now)); len(third) != 4 {
		t.Errorf("empty /proc: %v, want only the disk's 4 metrics", third)
	}
}

func TestCollectorOnThisHost(t *testing.T) {
	c := New(Options{Proc: os.DirFS("/proc"), Mounts: []string{"/"}, Endpoint: "h", Step: time.Second})
	for _, p := range c.Collect(time.Now()) {
		if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
			t.Errorf("%s = %v", p.Metric, p.Value)
		}
	}
	pts := c.Collect(time.Now())
	seen := map[string]bool{}
	for _, p := range pts {
		seen[p.Metric] = true
	}
	for _, m := range []string{"mem.memused.percent", "load.1min", "df.bytes.used.percent"} {
		if !seen[m] {
			t.Errorf("%s missing on this host", m)
		}
	}
}
