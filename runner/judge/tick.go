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
	for e, err := range store.Entries(ctx, j.opts.Store, prefix, store.ScanOptions{}) {
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

// tickLoop ticks every TickInterval until ctx ends.
func (j *Judge) tickLoop(ctx context.Context) {
	t := time.NewTicker(j.opts.TickInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			j.tick(ctx)
		}
	}
}

// tick runs the nodata rule on the owned states of every nodata strategy.
func (j *Judge) tick(ctx context.Context) {
	now := j.opts.Now()
	for _, c := range j.strat.snapshot() {
		if c.NoData == 0 {
			continue
		}
		err := j.forEachState(ctx, c, func(key string, shard int) error {
			return j.update(ctx, key, shard, func(st mjudge.State) (mjudge.State, []event.Event, bool) {
				st, evs := mjudge.Tick(st, c, now)
				return st, evs, true
			})
		})
		if err != nil {
			j.log.Warn("cannot tick nodata strategy", "strategy", c.Source.ID, "err", err)
		}
	}
}

// resolve closes the open problems of a strategy that was deleted or
// changed (in the shards this judge holds) and deletes its states, so a
// changed strategy starts afresh.
func (j *Judge) resolve(ctx context.Context, ch change) {
	now := j.opts.Now()
	err := j.forEachState(ctx, ch.old, func(key string, shard int) error {
		return j.update(ctx, key, shard, func(st mjudge.State) (mjudge.State, []event.Event, bool) {
			st, evs := mjudge.Resolve(st, ch.old, now)
			return st, evs, false
		})
	})
	if err != nil {
		j.log.Warn("cannot resolve changed strategy", "strategy", ch.id, "err", err)
	}
}
