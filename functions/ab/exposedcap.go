package ab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/ab/experiment"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
)

// Bounds of the exposure log's memory and store growth: every experiment
// log has its own budget of new decided exposures (exposed.go) and of
// reported ones (report.go) per flush interval, a cap on the units it
// keeps pending, and a bucket version a cap on its stored units, counted
// under exposedCountPrefix; results flag a population cut at that cap.

// exposedCountPrefix + counterID holds how many unit records the batches
// of a bucket version hold (every node's): {"units": n}.
const exposedCountPrefix = "ab/exposedcount/"

// Defaults of the bounds.
const (
	// DefaultMaxReportedExposures is how many reported exposures a node
	// takes per flush interval for each experiment.
	DefaultMaxReportedExposures = 20000
	// DefaultMaxStoredUnits is how many unit records the batches of one
	// bucket version hold at most.
	DefaultMaxStoredUnits = 1000000
	// pendingIntervals is how many intervals' worth of units a log keeps
	// pending (while the store refuses them) before it drops new ones.
	pendingIntervals = 10
)

// logLimits are the bounds of one experiment log.
type logLimits struct {
	slots, maxNew, maxReported, maxStored int
}

// limits are the bounds of a log from the options.
func (f *Function) limits() logLimits {
	return logLimits{slots: f.opts.ExposureSlots, maxNew: f.opts.MaxNewExposures,
		maxReported: f.opts.MaxReportedExposures, maxStored: f.opts.MaxStoredUnits}
}

// pendingMax is how many units a log keeps pending at most.
func (lim logLimits) pendingMax() int { return pendingIntervals * (lim.maxNew + lim.maxReported) }

// storedCount is the value of an exposedCountPrefix key.
type storedCount struct {
	Units int64 `json:"units"`
}

// exposedCountKey is where the stored unit records of e's bucket version
// are counted.
func exposedCountKey(e experiment.Experiment) string { return exposedCountPrefix + counterID(e) }

// readStoredCount reads the count at key (0 when none).
func (f *Function) readStoredCount(ctx context.Context, key string) (int64, uint64, error) {
	cctx, cancel := context.WithTimeout(ctx, f.opts.StoreTimeout)
	defer cancel()
	en, err := f.opts.Store.Get(cctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("cannot read the stored units count: %w", err)
	}
	var c storedCount
	if err := json.Unmarshal(en.Value, &c); err != nil {
		return 0, en.Version, nil // unreadable: counted again from here
	}
	return c.Units, en.Version, nil
}

// addStoredCount adds n to the count at key and returns the new total.
func (f *Function) addStoredCount(ctx context.Context, key string, n int64) (int64, error) {
	for range casAttempts * 2 {
		cur, ver, err := f.readStoredCount(ctx, key)
		if err != nil {
			return 0, err
		}
		b, _ := json.Marshal(storedCount{Units: cur + n})
		cctx, cancel := context.WithTimeout(ctx, f.opts.StoreTimeout)
		_, err = f.opts.Store.CompareAndSwap(cctx, key, ver, b, store.PutOptions{})
		cancel()
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("cannot store the stored units count: %w", err)
		}
		return cur + n, nil
	}
	return 0, errors.New("cannot store the stored units count: too many concurrent changes")
}

// syncStored learns the stored count of l's bucket version once, so a
// node that starts late does not write past the cap.
func (f *Function) syncStored(ctx context.Context, l *unitLog) {
	if l.countLoaded {
		return
	}
	n, _, err := f.readStoredCount(ctx, l.countKey)
	if err != nil {
		return
	}
	l.countLoaded = true
	l.noteStored(n)
}

// noteStored records that the bucket version holds n unit records; at the
// cap the log stops recording.
func (l *unitLog) noteStored(n int64) {
	l.stored = max(l.stored, n)
	if l.stored >= l.maxStored {
		l.full.Store(true)
	}
}

// charge is the reported exposures of one request to one experiment.
type charge struct {
	ctr *counter
	key string
	n   int64
}

// chargeReported charges each charge to its log's budget of reported
// exposures; when one is spent nothing is charged and the answer is 429
// with Retry-After (the next flush interval).
func (f *Function) chargeReported(cs []charge) error {
	for i, c := range cs {
		if c.ctr.units.reported.Add(c.n) > c.ctr.units.maxReported {
			for _, d := range cs[:i+1] {
				d.ctr.units.reported.Add(-d.n)
			}
			e := httperr.New(fasthttp.StatusTooManyRequests, "experiment %q takes at most %d reported exposures per %s on this node: retry after the next flush", c.key, c.ctr.units.maxReported, f.opts.FlushInterval)
			secs := int((f.opts.FlushInterval + time.Second - 1) / time.Second)
			e.Headers = map[string]string{"Retry-After": strconv.Itoa(max(1, secs))}
			return e
		}
	}
	return nil
}
