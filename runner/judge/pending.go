package judge

import (
	"context"
	"time"
)

// pendingLoop sweeps the held shards for unpublished events: at once when
// a shard was taken, every TickInterval while publishing fails, and every
// SweepInterval otherwise, until ctx ends.
func (j *Judge) pendingLoop(ctx context.Context) {
	t := time.NewTicker(min(j.opts.TickInterval, j.opts.SweepInterval))
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if !j.unpublished.Load() && time.Since(last) < j.opts.SweepInterval {
				continue
			}
		case <-j.pendingNow:
		}
		last = time.Now()
		failing := j.unpublished.Swap(false)
		if err := j.sweepPending(ctx); err != nil && ctx.Err() == nil {
			j.log.Warn("cannot sweep judge states for unpublished events", "err", err)
			j.unpublished.Store(failing)
			continue
		}
		if failing && !j.unpublished.Load() {
			j.log.Info("alarm events are published again")
		}
	}
}

// requestPendingSweep asks the pending loop for a sweep without waiting.
func (j *Judge) requestPendingSweep() {
	select {
	case j.pendingNow <- struct{}{}:
	default:
	}
}

// publishFailed notes that events could not be published: logged once
// until publishing works again; the sweep retries meanwhile.
func (j *Judge) publishFailed(err error, events int) {
	if !j.unpublished.Swap(true) {
		j.log.Warn("cannot publish alarm events; they wait in the judge states and are retried", "events", events, "err", err)
	}
}

// sweepPending publishes the events left pending in the states of the
// held shards: those of a judge that died between deciding and publishing
// them, or whose publishing failed and that no new point retried.
func (j *Judge) sweepPending(ctx context.Context) error {
	n := 0
	err := j.scan(ctx, StatePrefix, func(key string, rec record) error {
		if len(rec.Pending) == 0 || !j.holds(rec.Shard) {
			return nil
		}
		mu := &j.records[recordLock(key)]
		mu.Lock()
		defer mu.Unlock()
		after, _, err := j.load(ctx, key, rec.Shard)
		if err != nil {
			return err
		}
		if len(after.Pending) == 0 {
			n += len(rec.Pending)
		}
		return nil
	})
	if n > 0 {
		j.log.Info("published events left pending in judge states", "events", n)
	}
	return err
}
