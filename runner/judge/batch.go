package judge

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/event"
	mjudge "github.com/wharfhq/wharf/monitoring/judge"
)

// judgeItem is one (strategy, series) of a batch.
type judgeItem struct {
	key    string
	lock   int // recordLock(key)
	c      *judged
	series []mjudge.Point
	// slot is the series index's match the item comes from (nil: none),
	// where fillCache remembers the item's cached record.
	slot *seriesMatch
	// tags is the Tags of series' points encoded as a state's
	// (mjudge.AppendTags; nil: not known).
	tags []byte
}

// judgeBatch judges the items of one point batch with one read and one
// compare-and-swap round for all records (store.GetMany,
// store.CompareAndSwapMany: one buntdb transaction or Redis pipeline
// each) instead of two store calls per record. Only the plain case goes
// that way: a record without pending events, judged under the current
// strategy version, whose new points decide no event. Everything else —
// events to publish, a strategy edit to reconcile, an undecodable record,
// a compare-and-swap conflict — goes through update, one record at a
// time, after the batch, with the records' usual semantics. A record
// whose encoding did not change (the points were duplicates or out of
// order) is not written at all.
//
// The items were matched against the strategies of generation gen. One
// whose strategy version is no longer in force when its record is locked
// (deleted, or edited, while the batch waited: the watch does not wait
// for the shard's consumer) goes through update too, which judges under
// the version in force, so that a batch never writes a state, or decides
// an event, of a version whose sweep may have run already.
func (j *Judge) judgeBatch(ctx context.Context, shard int, items []judgeItem, gen uint64, m *bus.Message, points int) error {
	if len(items) == 0 {
		return nil
	}
	var slow []judgeItem
	var err error
	if c := j.cacheOf(shard); c != nil {
		slow, err = j.judgeCached(ctx, c, shard, items, gen, m, points) // cache_batch.go
	} else {
		slow, err = j.judgeFast(ctx, shard, items, gen)
	}
	if err != nil {
		return err
	}
	for _, it := range slow {
		err := j.update(ctx, it.key, shard, func(st mjudge.State, c *judged) (mjudge.State, []event.Event, bool) {
			if c != it.c && !c.Match(it.series[0].Endpoint, it.series[0].Metric, it.series[0].Tags) {
				// Edited not to judge the series any more: as a sweep.
				return st, nil, len(st.Points) > 0 || st.Last.Status != ""
			}
			st, evs := mjudge.Judge(st, c.Compiled, it.series, j.opts.Now())
			return st, evs, true
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// judgeFast applies the plain items under their record locks and returns
// the others (see judgeBatch for gen).
func (j *Judge) judgeFast(ctx context.Context, shard int, items []judgeItem, gen uint64) ([]judgeItem, error) {
	unlock := j.lockRecords(items)
	defer unlock()
	// A change after this check is swept after the writes below (the
	// sweep of a change scans the stored records once the change is in).
	stale := j.strat.generation() != gen
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = it.key
	}
	entries, err := store.GetMany(ctx, j.opts.StateStore, keys)
	if err != nil {
		return nil, fmt.Errorf("cannot read judge states: %w", err)
	}
	now := j.opts.Now()
	var slow []judgeItem
	var swaps []store.Swap
	var swapped []int
	for i, it := range items {
		if stale && !j.strat.inForce(it.c) {
			slow = append(slow, it)
			continue
		}
		e := entries[i]
		rec := record{Shard: shard}
		if e.Version != 0 {
			if rec, err = decodeRecord(e.Value); err != nil || len(rec.Pending) > 0 || (rec.FP != 0 && rec.FP != it.c.fp) {
				slow = append(slow, it)
				continue
			}
		}
		next, evs := mjudge.Judge(rec.State, it.c.Compiled, it.series, now)
		if len(evs) > 0 {
			slow = append(slow, it) // update decides them again from the same state
			continue
		}
		rec.State, rec.FP, rec.Source = next, it.c.fp, sourceFor(&next, it.c)
		val, err := appendRecord(nil, &rec)
		if err != nil {
			return nil, err
		}
		if e.Version != 0 && bytes.Equal(val, e.Value) {
			continue // nothing new: no write
		}
		swaps = append(swaps, store.Swap{Key: it.key, Expect: e.Version, Value: val})
		swapped = append(swapped, i)
	}
	if len(swaps) == 0 {
		return slow, nil
	}
	res, err := store.CompareAndSwapMany(ctx, j.opts.StateStore, swaps)
	if err != nil {
		return nil, fmt.Errorf("cannot write judge states: %w", err)
	}
	for n, r := range res {
		switch {
		case r.Err == nil:
		case errors.Is(r.Err, store.ErrConflict) || errors.Is(r.Err, store.ErrNotFound):
			slow = append(slow, items[swapped[n]]) // changed since the read: once more, alone
		default:
			return nil, fmt.Errorf("cannot write judge state %s: %w", swaps[n].Key, r.Err)
		}
	}
	return slow, nil
}

// sourceFor is the strategy source a record judged into st keeps: the
// strategy version's JSON while a problem is open (what closes it if the
// strategy is deleted or edited while no judge watches), nothing
// otherwise — a record without an open problem has nothing to close, and
// most records (every series that is fine) are written without the ~250
// bytes of JSON on every point.
func sourceFor(st *mjudge.State, c *judged) []byte {
	if st.Last.Open() {
		return c.source
	}
	return nil
}

// lockRecords takes the record locks of items (see update), in ascending
// order so that two batches never wait on each other, and returns the
// unlock.
func (j *Judge) lockRecords(items []judgeItem) func() {
	var take [recordLocks]bool
	for _, it := range items {
		take[it.lock] = true
	}
	for i, t := range take {
		if t {
			j.records[i].Lock()
		}
	}
	return func() {
		for i, t := range take {
			if t {
				j.records[i].Unlock()
			}
		}
	}
}
