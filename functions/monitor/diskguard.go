package monitor

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/internal/bus"
)

// DiskSpace measures the filesystem that holds a directory.
type DiskSpace interface {
	// Space returns the bytes free for the writer and the filesystem's size.
	Space(dir string) (free, total uint64, err error)
}

// StatfsSpace is the DiskSpace of the running system (statfs on Linux).
type StatfsSpace struct{}

// DiskFloor is the least free space the series writer keeps on the
// filesystem of its Dir (monitoring.min_free_disk): Bytes, or Percent of
// the filesystem's size; both zero: no floor. With both set, the larger
// applies.
type DiskFloor struct {
	Bytes   uint64
	Percent float64
}

// DiskGuardOptions configure the free-disk guard of the series writer.
type DiskGuardOptions struct {
	// Floor is the free space to keep; zero: no guard.
	Floor DiskFloor
	// Space measures the filesystem; nil: StatfsSpace.
	Space DiskSpace
	// Interval is how often free space is measured (at most once per
	// interval, on the batches' path). Default 1s.
	Interval time.Duration
}

// ErrLowDisk is the error of a batch refused because the series dir's
// filesystem is below its floor; it wraps bus.ErrRetryLater, so the batch
// stays queued in NSQ (requeued, never dead-lettered).
var ErrLowDisk = fmt.Errorf("series disk below monitoring.min_free_disk: %w", bus.ErrRetryLater)

// diskGuard refuses the writes of a series writer while the filesystem of
// its dir has less free space than the floor. It logs when that starts
// and ends (not per batch) and keeps wharf_monitor_series_disk_low (0/1)
// and wharf_monitor_series_disk_free_bytes current.
type diskGuard struct {
	dir  string
	opts DiskGuardOptions
	log  *slog.Logger
	now  func() time.Time
	// done is closed when the writer stops: held batches go back at once
	// (the consumers' Stop waits for its handlers).
	done     chan struct{}
	doneOnce sync.Once

	mu      sync.Mutex
	checked time.Time
	err     error // nil: writes admitted
	free    uint64
	warned  bool // a measuring error was logged
}

func newDiskGuard(dir string, opts DiskGuardOptions, log *slog.Logger, set *metrics.Set) *diskGuard {
	if opts.Space == nil {
		opts.Space = StatfsSpace{}
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	g := &diskGuard{dir: dir, opts: opts, log: log, now: time.Now, done: make(chan struct{})}
	set.GetOrCreateGauge("wharf_monitor_series_disk_low", func() float64 {
		if g.current() != nil {
			return 1
		}
		return 0
	})
	set.GetOrCreateGauge("wharf_monitor_series_disk_free_bytes", func() float64 {
		g.mu.Lock()
		defer g.mu.Unlock()
		return float64(g.free)
	})
	return g
}

// current returns the last decision without measuring.
func (g *diskGuard) current() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// admit returns nil when a batch may be written, or an error wrapping
// ErrLowDisk that names the free space and the floor. Free space is
// measured at most once per Interval.
func (g *diskGuard) admit() error {
	if g.opts.Floor == (DiskFloor{}) {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if !g.checked.IsZero() && now.Sub(g.checked) < g.opts.Interval {
		return g.err
	}
	g.checked = now
	free, total, err := g.opts.Space.Space(g.dir)
	if err != nil {
		// Not measurable: let writes through (a full disk fails them
		// itself, and they are requeued), and say so once.
		if !g.warned {
			g.log.Warn("cannot measure the series disk; the free-disk guard is off until it can", "dir", g.dir, "err", err)
			g.warned = true
		}
		return g.settle(nil)
	}
	g.free = free
	floor := g.opts.Floor.Bytes
	if p := uint64(g.opts.Floor.Percent / 100 * float64(total)); p > floor {
		floor = p
	}
	if free >= floor {
		return g.settle(nil)
	}
	return g.settle(fmt.Errorf("%w: %s has %s free of %s, the floor is %s; writes wait in NSQ until space returns",
		ErrLowDisk, g.dir, formatBytes(free), formatBytes(total), formatBytes(floor)))
}

// settle records the decision, logging the transitions only.
func (g *diskGuard) settle(err error) error {
	switch {
	case err != nil && g.err == nil:
		g.log.Error("series writes paused: disk space low", "dir", g.dir, "free_bytes", g.free, "err", err)
	case err == nil && g.err != nil:
		g.log.Info("series writes resumed: disk space back above the floor", "dir", g.dir, "free_bytes", g.free)
	}
	g.err = err
	return err
}

// Holding batches while the disk is low.
const (
	// diskTouchEvery is how often a held batch tells nsqd it is still
	// being worked on (nsqd's --msg-timeout defaults to 60s).
	diskTouchEvery = 5 * time.Second
	// diskMaxHold is how long a batch is held before it is handed back to
	// NSQ (requeued): below nsqd's --max-msg-timeout (15m), past which
	// nsqd would redeliver it anyway.
	diskMaxHold = 10 * time.Minute
)

// wait returns nil at once when a batch may be written. While the disk is
// below the floor it holds the batch — unacknowledged, touched so that
// nsqd keeps it in flight — and returns nil as soon as space is back:
// held batches are written in the order they came, where a requeue would
// shuffle them and a series' older points would then be stale. With every
// handler holding one, nsqd hands out no more. It gives the batch back
// (an error wrapping ErrLowDisk, never dead-lettered) when ctx ends, the
// writer stops (release), or after diskMaxHold.
func (g *diskGuard) wait(ctx context.Context, m *bus.Message) error {
	err := g.admit()
	if err == nil {
		return nil
	}
	tick := time.NewTicker(g.opts.Interval)
	defer tick.Stop()
	start := time.Now()
	touched := start
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (%w)", err, ctx.Err())
		case <-g.done:
			return fmt.Errorf("%w (the writer is stopping)", err)
		case now := <-tick.C:
			if err = g.admit(); err == nil {
				return nil
			}
			if now.Sub(start) >= diskMaxHold {
				return err
			}
			if now.Sub(touched) >= diskTouchEvery {
				m.Touch()
				touched = now
			}
		}
	}
}

// release gives every held batch back: the writer is stopping.
func (g *diskGuard) release() { g.doneOnce.Do(func() { close(g.done) }) }

// DiskCheck reports whether the writer takes points: nil, or the error
// that says why not (the series disk is below monitoring.min_free_disk).
// It measures no more than the writes do.
func (w *Writer) DiskCheck(context.Context) error {
	if w.guard == nil {
		return nil
	}
	return w.guard.current()
}

// formatBytes renders n in binary units: "512 B", "3.2 MiB", "1.0 GiB".
func formatBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatUint(n, 10) + " B"
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
