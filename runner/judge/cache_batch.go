package judge

import (
	"context"
	"fmt"
	"slices"

	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/store"
	mjudge "github.com/wharfhq/wharf/monitoring/judge"
)

// judgeCached is judgeFast over the shard's cache: records not cached are
// read with one store.GetMany, the plain items are judged into the cached
// records and m is held until they are flushed (see shardCache). Items
// that need update (events, pending events, another strategy version, an
// undecodable record) have their cached copies written and dropped first,
// and are returned; so are those whose strategy version is no longer in
// force (see judgeBatch for gen).
func (j *Judge) judgeCached(ctx context.Context, c *shardCache, shard int, items []judgeItem, gen uint64, m *bus.Message, points int) ([]judgeItem, error) {
	unlock := j.lockRecords(items)
	defer unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	// A change after this check is swept after the records dirtied here
	// are stored: the sweep flushes the cache first (under c.mu).
	stale := j.strat.generation() != gen
	recs, err := j.fillCache(ctx, c, shard, items)
	if err != nil {
		return nil, err
	}
	defer clear(recs)
	now := j.opts.Now()
	var slow []judgeItem
	var slowRecs []*cachedRecord
	scratch := c.scratch
	defer func() { c.scratch = scratch[:0] }()
	dirtied := false
	for i, it := range items {
		e := recs[i]
		if e == nil || len(e.rec.Pending) > 0 || (e.rec.FP != 0 && e.rec.FP != it.c.fp) || (stale && !j.strat.inForce(it.c)) {
			slow = append(slow, it)
			if e != nil {
				slowRecs = append(slowRecs, e)
			}
			continue
		}
		st := e.rec.State
		// Judge may move the window in place: judge a copy (in scratch,
		// which stays in the CPU's cache from one item to the next), so
		// that the cached state stays as it was when the item goes to
		// update; the window judged is then kept in the record's own
		// storage (keepWindow).
		scratch = append(scratch[:0], st.Points...)
		st.Points = scratch
		next, evs := mjudge.Judge(st, it.c.Compiled, it.series, now)
		if len(evs) > 0 {
			slow, slowRecs = append(slow, it), append(slowRecs, e)
			continue
		}
		if !stateMoved(&e.rec.State, &next) && e.rec.FP == it.c.fp {
			continue // duplicates or out of order: nothing to write
		}
		scratch = e.keepWindow(&next, scratch)
		e.rec.State, e.rec.FP, e.rec.Source = next, it.c.fp, sourceFor(&next, it.c)
		if it.tags != nil && len(it.series) > 0 {
			e.tagsOf, e.tagsEnc = it.series[0].Tags, it.tags // used only while next.Tags is that map
		}
		if !e.dirty {
			e.dirty = true
			c.dirty++
			c.dirtyRecs = append(c.dirtyRecs, e)
		}
		dirtied = true
	}
	if err := j.dropCachedLocked(ctx, c, slowRecs); err != nil {
		return nil, err
	}
	if dirtied {
		if err := j.hold(ctx, c, m, points); err != nil {
			return nil, err
		}
	}
	return slow, nil
}

// fillCache returns the cached records of items, in order, reading those
// not cached with one store.GetMany. A missing record is cached as a new
// one; an undecodable one is left out (nil: update drops it). An item's
// record is found through its series index match when that remembers it
// (the steady state: no lookup in c.entries), else looked up and
// remembered there. The slice is c's scratch, valid until the next call.
// c.mu is held.
func (j *Judge) fillCache(ctx context.Context, c *shardCache, shard int, items []judgeItem) ([]*cachedRecord, error) {
	recs := slices.Grow(c.recs[:0], len(items))[:len(items)]
	c.recs = recs
	var missing []int
	for i, it := range items {
		if recs[i] = it.slot.cached(c); recs[i] != nil {
			continue
		}
		c.lookups++
		if recs[i] = c.entries[it.key]; recs[i] == nil {
			missing = append(missing, i)
		} else if it.slot != nil {
			it.slot.rec = recs[i]
		}
	}
	if len(missing) == 0 {
		return recs, nil
	}
	keys := make([]string, len(missing))
	for n, i := range missing {
		keys[n] = items[i].key
	}
	entries, err := store.GetMany(ctx, j.opts.StateStore, keys)
	if err != nil {
		return nil, fmt.Errorf("cannot read judge states: %w", err)
	}
	for n, e := range entries {
		it := items[missing[n]]
		var cr *cachedRecord
		if e.Version == 0 {
			cr = &cachedRecord{key: it.key, rec: record{Shard: shard}}
		} else {
			rec, err := decodeRecord(e.Value)
			if err != nil {
				continue
			}
			cr = &cachedRecord{key: it.key, rec: rec, ver: e.Version}
		}
		c.add(cr)
		recs[missing[n]] = cr
		if it.slot != nil {
			it.slot.rec = cr
		}
	}
	return recs, nil
}

// keepWindow makes next (judged from e's state, its window in scratch)
// keep its window in e's own storage, e.win, when it fits (a copy within
// the CPU's cache), and returns the scratch for the next item. A window
// too long for e.win becomes the state's as it is, and the state's old
// window (when not e.win) the scratch: each window array has one owner.
func (e *cachedRecord) keepWindow(next *mjudge.State, scratch []mjudge.Sample) []mjudge.Sample {
	if n := len(next.Points); n <= len(e.win) {
		judged := next.Points // scratch, or an array Judge grew
		copy(e.win[:], judged)
		next.Points = e.win[:n:n]
		if cap(judged) > cap(scratch) {
			return judged[:0]
		}
		return scratch
	}
	old := e.rec.State.Points
	if cap(old) == 0 || &old[:1][0] == &e.win[0] {
		return nil // the next item's copy allocates its own
	}
	return old[:0]
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
