package judge

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"

	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/event"
	mjudge "github.com/wharfhq/wharf/monitoring/judge"
)

// step computes the next state of a record judged under strategy version
// c; keep false deletes the record (after its events are published).
type step func(st mjudge.State, c *judged) (next mjudge.State, evs []event.Event, keep bool)

// maxConflicts bounds the compare-and-swap retries of one update.
const maxConflicts = 16

// update loads the record at key (shard is the series' shard, for a new
// record), publishes events a previous run left pending, applies f and
// writes state and events with one compare-and-swap, then publishes the
// events and clears them from the record. The record is the outbox: a
// crash or an nsqd failure leaves the events in it, and the next load
// (a point of the series, a tick, a sweep, another judge that takes the
// shard) publishes them, in order, before any newer one. A crash between
// nsqd's acknowledgement and the clear publishes them twice (consumers
// de-duplicate on id, status, current_step, event_time); none is lost and
// none is decided twice.
//
// The record is judged under the version of its strategy in force once
// its lock is held (not the one a caller matched earlier: the watch may
// have deleted or edited it since, and its sweep run), and the record
// remembers it. When the record was judged under a version that judged
// differently (another judging fingerprint), its open problem is closed
// first (reconcile) and f gets a fresh state. When the strategy is gone
// the open problem is closed and the record deleted (f unused). A change
// that comes in while the record is written asks for a sweep of the
// strategy's states, which then finds the record.
func (j *Judge) update(ctx context.Context, key string, shard int, f step) error {
	// One writer per record in this judge: two (the shard's consumer and
	// a sweep or tick) must not both hand the same pending events over.
	mu := &j.records[recordLock(key)]
	mu.Lock()
	defer mu.Unlock()
	id := stateStrategyID(key)
	cur := j.strat.get(id)
	defer func() {
		if j.strat.get(id) != cur {
			j.sweeps.request(id)
		}
	}()
	if err := j.flushKey(ctx, key, shard); err != nil { // cache.go
		return err
	}
	for range maxConflicts {
		rec, ver, err := j.load(ctx, key, shard)
		if err != nil {
			return err
		}
		st, evs := j.reconcile(key, &rec, ver, cur)
		next, keep := st, false
		if cur != nil {
			var more []event.Event
			next, more, keep = f(st, cur)
			evs = append(evs, more...)
			rec.FP, rec.Source = cur.fp, sourceFor(&next, cur)
		}
		pending := rec.Pending
		for _, ev := range evs {
			b, err := event.Marshal(ev)
			if err != nil {
				return fmt.Errorf("cannot encode event %s: %w", ev.ID, err)
			}
			pending = append(pending, b)
		}
		if len(pending) > maxPending {
			// Publishing has failed for that long: judge this series
			// again once its events are out (nsqd redelivers the batch).
			return fmt.Errorf("cannot judge %s: %d events wait to be published", key, len(rec.Pending))
		}
		if !keep && len(pending) == 0 {
			if ver == 0 {
				return nil
			}
			if _, err := j.opts.StateStore.CompareAndDelete(ctx, key, ver); errors.Is(err, store.ErrConflict) {
				continue
			} else if err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("cannot delete judge state %s: %w", key, err)
			}
			return nil
		}
		if !keep {
			// A dropped state keeps its record only until its events are
			// published; the empty state marks it for deletion then.
			next = mjudge.State{}
		}
		rec.State, rec.Pending = next, pending
		val, err := appendRecord(nil, &rec)
		if err != nil {
			return err
		}
		nver, err := j.opts.StateStore.CompareAndSwap(ctx, key, ver, val, store.PutOptions{})
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("cannot write judge state %s: %w", key, err)
		}
		if len(pending) == 0 {
			return nil
		}
		_, err = j.handOver(ctx, key, rec, nver)
		return err
	}
	return fmt.Errorf("cannot write judge state %s: %w", key, store.ErrConflict)
}

// recordLocks is the number of locks that serialize the updates of the
// records of one judge (by key hash).
const recordLocks = 64

func recordLock(key string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum32() % recordLocks)
}

// droppedState reports whether st is the empty state of a record kept
// only for its pending events (states are made from points, which always
// have an endpoint).
func droppedState(st mjudge.State) bool { return st.Endpoint == "" && len(st.Points) == 0 }

// handOver publishes rec's pending events to the alarms topic and, once
// nsqd acknowledged them, removes them from the stored record (version
// ver), or deletes a dropped one. When publishing fails it reports false
// and leaves them in the record for the next load or the pending sweep
// (every TickInterval while publishing fails). Only a judge that dies
// after nsqd's acknowledgement and before the clear reaches the store
// publishes an event twice; the clear is encoded before publishing so
// that window is a socket write.
func (j *Judge) handOver(ctx context.Context, key string, rec record, ver uint64) (bool, error) {
	pending := rec.Pending
	drop := droppedState(rec.State)
	var cleared []byte
	if !drop {
		rec.Pending = nil
		var err error
		if cleared, err = appendRecord(nil, &rec); err != nil {
			return false, err
		}
	}
	if err := j.owe(ctx, pending); err != nil { // owed.go
		j.stats.publishFailures.Inc()
		j.publishFailed(err, len(pending))
		return false, nil
	}
	if err := j.opts.Publisher.MultiPublish(ctx, wire.AlarmsTopic, pending); err != nil {
		j.stats.publishFailures.Inc()
		j.publishFailed(err, len(pending))
		return false, nil
	}
	var err error
	if drop {
		_, err = j.opts.StateStore.CompareAndDelete(ctx, key, ver)
	} else {
		_, err = j.opts.StateStore.CompareAndSwap(ctx, key, ver, cleared, store.PutOptions{})
	}
	j.events.Add(uint64(len(pending)))
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		// Another writer loaded the record and published the events
		// itself, and keeps the problems view (a late write here could
		// bring back a problem its OK already removed).
		return true, nil
	}
	j.recordProblems(ctx, pending)
	if err != nil {
		return true, fmt.Errorf("cannot clear published events of %s: %w", key, err)
	}
	return true, nil
}

// load reads the record at key; a missing key is an empty record of shard.
// Events left pending by a previous run are published first; when that
// fails the record is returned with them, and new events queue behind.
func (j *Judge) load(ctx context.Context, key string, shard int) (record, uint64, error) {
	for range maxConflicts {
		e, err := j.opts.StateStore.Get(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			return record{Shard: shard}, 0, nil
		}
		if err != nil {
			return record{}, 0, fmt.Errorf("cannot read judge state %s: %w", key, err)
		}
		rec, err := decodeRecord(e.Value)
		if err != nil {
			j.log.Warn("dropping undecodable judge state", "key", key, "err", err)
			return record{Shard: shard}, e.Version, nil
		}
		if len(rec.Pending) == 0 {
			return rec, e.Version, nil
		}
		published, err := j.handOver(ctx, key, rec, e.Version)
		if err != nil {
			return record{}, 0, err
		}
		if !published {
			return rec, e.Version, nil
		}
	}
	return record{}, 0, fmt.Errorf("cannot read judge state %s: %w", key, store.ErrConflict)
}
