package hostmetrics

import (
	"io/fs"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/feed"
)

// Options configure a Collector.
type Options struct {
	// Proc is the /proc file system (os.DirFS("/proc"); tests pass fixtures).
	Proc fs.FS
	// Mounts are the paths whose file systems are reported (tag mount=).
	Mounts []string
	// Endpoint is the points' endpoint: the host id.
	Endpoint string
	// Step is the points' step.
	Step time.Duration
}

// Collector turns readings into a step's points. The first step has no
// cpu.* (usage needs two readings).
type Collector struct {
	o    Options
	mu   sync.Mutex
	prev *CPU
}

// New returns a Collector.
func New(o Options) *Collector { return &Collector{o: o} }

// Collect returns the host's points at now; a part that cannot be read is
// left out (the others still go).
func (c *Collector) Collect(now time.Time) []feed.Point {
	c.mu.Lock()
	defer c.mu.Unlock()
	base := feed.Point{Endpoint: c.o.Endpoint, Timestamp: now.Unix(), Step: max(1, int64(c.o.Step/time.Second)), CounterType: feed.Gauge}
	var out []feed.Point
	add := func(metric, tags string, v float64) {
		p := base
		p.Metric, p.Tags, p.Value = metric, tags, v
		out = append(out, p)
	}
	if b, err := fs.ReadFile(c.o.Proc, "stat"); err == nil {
		if cpu, err := ParseStat(b); err == nil {
			if c.prev != nil {
				if u, ok := cpu.Usage(*c.prev); ok {
					add("cpu.busy", "", u.Busy)
					add("cpu.idle", "", u.Idle)
					add("cpu.user", "", u.User)
					add("cpu.system", "", u.System)
					add("cpu.iowait", "", u.IOWait)
					add("cpu.steal", "", u.Steal)
				}
			}
			c.prev = &cpu
		}
	}
	if b, err := fs.ReadFile(c.o.Proc, "meminfo"); err == nil {
		if m, err := ParseMeminfo(b); err == nil {
			used := m.Total - m.Available
			add("mem.memtotal", "", float64(m.Total))
			add("mem.memused", "", float64(used))
			add("mem.memfree", "", float64(m.Available))
			add("mem.memused.percent", "", 100*float64(used)/float64(m.Total))
			add("mem.memfree.percent", "", 100*float64(m.Available)/float64(m.Total))
			if m.SwapTotal > 0 {
				add("mem.swapused.percent", "", 100*float64(m.SwapTotal-min(m.SwapFree, m.SwapTotal))/float64(m.SwapTotal))
			}
		}
	}
	if b, err := fs.ReadFile(c.o.Proc, "loadavg"); err == nil {
		if l, err := ParseLoadavg(b); err == nil {
			add("load.1min", "", l.One)
			add("load.5min", "", l.Five)
			add("load.15min", "", l.Fifteen)
		}
	}
	for _, m := range c.o.Mounts {
		d, err := StatDisk(m)
		if err != nil || d.Total == 0 {
			continue
		}
		tags := feed.Tags("mount", m)
		add("df.bytes.total", tags, float64(d.Total))
		add("df.bytes.used", tags, float64(d.Used))
		add("df.bytes.free", tags, float64(d.Free))
		add("df.bytes.used.percent", tags, 100*float64(d.Used)/float64(d.Total))
	}
	return out
}
