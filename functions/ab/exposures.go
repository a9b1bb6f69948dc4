package ab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/wharfhq/wharf/functions/ab/experiment"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
)

// storedExposures is the value of an exposure key: the exposures per
// variation that every node has flushed.
type storedExposures struct {
	Counts []int64 `json:"counts"`
}

// Flush adds the exposures counted since the last flush to the store (one
// compare-and-swap per experiment with new exposures) and writes the units
// exposed since (exposed.go). What cannot be written is kept for the next
// flush.
func (f *Function) Flush(ctx context.Context) {
	f.mu.Lock()
	cs := make([]*counter, 0, len(f.counters))
	for _, c := range f.counters {
		cs = append(cs, c)
	}
	f.mu.Unlock()
	defer f.dropIdle()
	logs := map[*unitLog]bool{}
	for _, c := range cs {
		if !logs[c.units] {
			logs[c.units] = true
			f.flushExposed(ctx, c.units)
		}
		deltas := make([]int64, len(c.counts))
		any := false
		for i := range c.counts {
			deltas[i] = c.counts[i].Swap(0)
			any = any || deltas[i] != 0
		}
		if !any {
			continue
		}
		c.used.Store(true)
		if err := f.addExposures(ctx, c, deltas); err != nil {
			f.flushWarn("cannot flush exposures; kept for the next flush", "experiment", c.id, "err", err)
			f.m.flushErrors.Inc()
			for i, d := range deltas {
				c.counts[i].Add(d)
			}
		}
	}
}

// dropIdle forgets the counters (and their sets of exposed units) that
// the current snapshot does not use and that held nothing unflushed at
// two flushes in a row: an experiment stopped, deleted or at a new bucket
// version. A decision that loaded an older snapshot may still count on
// its counter after one flush; two flush intervals later none does. Its
// stored exposures stay; a restart starts a new counter.
func (f *Function) dropIdle() {
	f.mu.Lock()
	defer f.mu.Unlock()
	live := map[*counter]bool{}
	for _, c := range f.state.Load().counters {
		live[c] = true
	}
	for id, c := range f.counters {
		switch {
		case c.used.Swap(false) || live[c] || !c.idle():
			c.idleFlushes = 0
		case c.idleFlushes >= 1:
			delete(f.counters, id)
		default:
			c.idleFlushes++
		}
	}
}

// idle reports whether c holds no unflushed exposure.
func (c *counter) idle() bool {
	for i := range c.counts {
		if c.counts[i].Load() != 0 {
			return false
		}
	}
	c.units.mu.Lock()
	defer c.units.mu.Unlock()
	return len(c.units.pending.Units) == 0
}

// addExposures adds deltas to the stored counts of c.
func (f *Function) addExposures(ctx context.Context, c *counter, deltas []int64) error {
	key := exposurePrefix + c.id
	for range casAttempts * 2 {
		cctx, cancel := context.WithTimeout(ctx, f.opts.StoreTimeout)
		var cur storedExposures
		var ver uint64
		e, err := f.opts.Store.Get(cctx, key)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			cancel()
			return fmt.Errorf("cannot read exposures: %w", err)
		default:
			ver = e.Version
			if err := json.Unmarshal(e.Value, &cur); err != nil {
				cancel()
				return fmt.Errorf("cannot decode exposures: %w", err)
			}
		}
		for len(cur.Counts) < len(deltas) {
			cur.Counts = append(cur.Counts, 0)
		}
		for i, d := range deltas {
			cur.Counts[i] += d
		}
		b, _ := json.Marshal(cur)
		_, err = f.opts.Store.CompareAndSwap(cctx, key, ver, b, store.PutOptions{})
		cancel()
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("cannot store exposures: %w", err)
		}
		return nil
	}
	return errors.New("cannot store exposures: too many concurrent changes")
}

// exposures returns e's exposures per variation: flushed by every node
// plus this node's not yet flushed.
func (f *Function) exposures(r *fnapi.Request, e experiment.Experiment) ([]int64, error) {
	out := make([]int64, len(e.Variations))
	ctx, cancel := f.storeCtx(r)
	defer cancel()
	var cur storedExposures
	if _, err := f.load(ctx, ExposureKey(e), &cur, "exposures"); err != nil {
		var he *httperr.Error
		if !errors.As(err, &he) || he.Status != 404 {
			return nil, err
		}
	}
	for i := range min(len(out), len(cur.Counts)) {
		out[i] = cur.Counts[i]
	}
	f.mu.Lock()
	c := f.counters[counterID(e)]
	f.mu.Unlock()
	if c != nil {
		for i := range min(len(out), len(c.counts)) {
			out[i] += c.counts[i].Load()
		}
	}
	return out, nil
}
