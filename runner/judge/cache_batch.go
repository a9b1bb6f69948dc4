package judge

import (
	"context"
	"fmt"

	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/store"
	mjudge "github.com/wharfhq/wharf/monitoring/judge"
)

// judgeCached is judgeFast over the shard's cache: records not cached are
// read with one store.GetMany, the plain items are judged into the cached
// records and m is held until they are flushed (see shardCache). Items
// that need update (events, pending events, another strategy version, an
// undecodable record) have their cached copies written and dropped first,
// and are returned.
func (j *Judge) judgeCached(ctx context.Context, c *shardCache, shard int, items []judgeItem, m *bus.Message, points int) ([]judgeItem, error) {
	unlock := j.lockRecords(items)
	defer unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := j.fillCache(ctx, c, shard, items); err != nil {
		return nil, err
	}
	now := j.opts.Now()
	var slow []judgeItem
	var slowKeys []string
	var scratch []mjudge.Sample
	dirtied := false
	for _, it := range items {
		e := c.entries[it.key]
		if e == nil || len(e.rec.Pending) > 0 || (e.rec.FP != 0 && e.rec.FP != it.c.fp) {
			slow, slowKeys = append(slow, it), append(slowKeys, it.key)
			continue
		}
		st := e.rec.State
		// Judge may move the window in place: judge a copy (in scratch),
		// so that the cached state stays as it was when the item goes to
		// update; the window taken is copied back into the cached one's.
		scratch = append(scratch[:0], st.Points...)
		st.Points = scratch
		next, evs := mjudge.Judge(st, it.c.Compiled, it.series, now)
		if len(evs) > 0 {
			slow, slowKeys = append(slow, it), append(slowKeys, it.key)
			continue
		}
		if !stateMoved(&e.rec.State, &next) && e.rec.FP == it.c.fp {
			continue // duplicates or out of order: nothing to write
		}
		next.Points = append(e.rec.State.Points[:0], next.Points...)
		e.rec.State, e.rec.FP, e.rec.Source = next, it.c.fp, sourceFor(&next, it.c)
		if !e.dirty {
			e.dirty = true
			c.dirty++
			c.dirtyKeys = append(c.dirtyKeys, it.key)
		}
		dirtied = true
	}
	if err := j.dropCachedLocked(ctx, c, slowKeys); err != nil {
		return nil, err
	}
	if dirtied {
		if err := j.hold(ctx, c, m, points); err != nil {
			return nil, err
		}
	}
	return slow, nil
}

// fillCache reads the records of items that are not cached, with one
// store.GetMany. A missing record is cached as a new one; an undecodable
// one is left out (update drops it).
func (j *Judge) fillCache(ctx context.Context, c *shardCache, shard int, items []judgeItem) error {
	var keys []string
	for _, it := range items {
		if c.entries[it.key] == nil {
			keys = append(keys, it.key)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	entries, err := store.GetMany(ctx, j.opts.StateStore, keys)
	if err != nil {
		return fmt.Errorf("cannot read judge states: %w", err)
	}
	for i, e := range entries {
		if e.Version == 0 {
			c.entries[keys[i]] = &cachedRecord{rec: record{Shard: shard}}
			continue
		}
		rec, err := decodeRecord(e.Value)
		if err != nil {
			continue
		}
		c.entries[keys[i]] = &cachedRecord{rec: rec, ver: e.Version}
	}
	return nil
}

// stateMoved reports whether judging took a point (the window's newest
// point or its length changed); only then is there anything to write.
func stateMoved(before, after *mjudge.State) bool {
	nb, na := len(before.Points), len(after.Points)
	if nb != na {
		return true
	}
	return na > 0 && before.Points[na-1] != after.Points[na-1]
}
