package judge

import (
	"context"
	"fmt"
	"time"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/event"
	mjudge "github.com/wharfhq/wharf/monitoring/judge"
)

// scan calls f for every decodable state record under prefix.
func (j *Judge) scan(ctx context.Context, prefix string, f func(key string, rec record) error) error {
	for e, err := range store.Entries(ctx, j.opts.StateStore, prefix, store.ScanOptions{}) {
		if err != nil {
			return fmt.Errorf("cannot list judge states: %w", err)
		}
		rec, err := decodeRecord(e.Value)
		if err != nil {
			continue
		}
		if err := f(e.Key, rec); err != nil {
			return err
		}
	}
	return nil
}

// tickLoop ticks every TickInterval, and sweeps when asked, until ctx
// ends (beside the lease loop: a long scan must not delay lease renewals).
func (j *Judge) tickLoop(ctx context.Context) {
	t := time.NewTicker(j.opts.TickInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			j.tick(ctx)
			j.sweep(ctx) // retries of failed sweeps, if any
		case <-j.sweeps.wake:
			j.sweep(ctx)
		}
	}
}

// tick runs the nodata rule on the owned states of every nodata strategy.
func (j *Judge) tick(ctx context.Context) {
	if j.hasNoData() {
		j.flushAll(ctx) // series only cached so far go silent too
	}
	now := j.opts.Now()
	for _, c := range j.strat.snapshot() {
		if c.NoData == 0 {
			continue
		}
		err := j.forEachState(ctx, c.Compiled, func(key string, shard int) error {
			return j.update(ctx, key, shard, func(st mjudge.State, c *judged) (mjudge.State, []event.Event, bool) {
				st, evs := mjudge.Tick(st, c.Compiled, now)
				return st, evs, len(st.Points) > 0 // a state reconciled empty waits for points
			})
		})
		if err != nil {
			j.log.Warn("cannot tick nodata strategy", "strategy", c.Source.ID, "err", err)
		}
	}
}

// hasNoData reports whether a strategy has a nodata rule.
func (j *Judge) hasNoData() bool {
	for _, c := range j.strat.snapshot() {
		if c.NoData != 0 {
			return true
		}
	}
	return false
}
