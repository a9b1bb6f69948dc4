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

// step computes the next state of a record; keep false deletes the record
// (after its events are handed over).
type step func(st mjudge.State) (next mjudge.State, evs []event.Event, keep bool)

// maxConflicts bounds the compare-and-swap retries of one update.
const maxConflicts = 16

// update loads the record at key (shard is the series' shard, for a new
// record), hands over events a previous run left pending, applies f and
// writes state and events with one compare-and-swap, then enqueues the
// events to the outbox and clears them from the record. A crash between
// the two writes re-enqueues the same events on the next load (consumers
// de-duplicate on id, status, current_step, event_time); no crash can lose
// one or decide one twice.
//
// cur is the strategy version judging the series now, and the record
// remembers it. When the record was judged under a version that judged
// differently (another judging fingerprint), its open problem is closed
// first (reconcile) and f gets a fresh state. A nil cur means the strategy
// is gone: the open problem is closed and the record deleted (f unused).
func (j *Judge) update(ctx context.Context, key string, shard int, cur *judged, f step) error {
	// One writer per record in this judge: two (the shard's consumer and
	// a sweep or tick) must not both hand the same pending events over.
	mu := &j.records[recordLock(key)]
	mu.Lock()
	defer mu.Unlock()
	for range maxConflicts {
		rec, ver, err := j.load(ctx, key, shard)
		if err != nil {
			return err
		}
		st, evs := j.reconcile(key, &rec, ver, cur)
		next, keep := st, false
		if cur != nil {
			var more []event.Event
			next, more, keep = f(st)
			evs = append(evs, more...)
			rec.FP, rec.Source = cur.fp, cur.source
		}
		pending := rec.Pending
		for _, ev := range evs {
			b, err := event.Marshal(ev)
			if err != nil {
				return fmt.Errorf("cannot encode event %s: %w", ev.ID, err)
			}
			pending = append(pending, b)
		}
		if !keep && len(pending) == 0 {
			if ver == 0 {
				return nil
			}
			if _, err := j.opts.Store.CompareAndDelete(ctx, key, ver); errors.Is(err, store.ErrConflict) {
				continue
			} else if err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("cannot delete judge state %s: %w", key, err)
			}
			return nil
		}
		rec.State, rec.Pending = next, pending
		val, err := appendRecord(nil, &rec)
		if err != nil {
			return err
		}
		nver, err := j.opts.Store.CompareAndSwap(ctx, key, ver, val, store.PutOptions{})
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("cannot write judge state %s: %w", key, err)
		}
		if len(pending) == 0 {
			return nil
		}
		return j.handOver(ctx, key, rec, nver, keep)
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

// handOver enqueues rec's pending events to the outbox and removes them
// from the stored record (version ver), or deletes it when !keep.
func (j *Judge) handOver(ctx context.Context, key string, rec record, ver uint64, keep bool) error {
	for _, b := range rec.Pending {
		if err := j.opts.Outbox.Enqueue(ctx, wire.AlarmsTopic, b); err != nil {
			return fmt.Errorf("cannot enqueue alarm event: %w", err)
		}
	}
	j.events.Add(uint64(len(rec.Pending)))
	var err error
	if keep {
		rec.Pending = nil
		var val []byte
		if val, err = appendRecord(nil, &rec); err != nil {
			return err
		}
		_, err = j.opts.Store.CompareAndSwap(ctx, key, ver, val, store.PutOptions{})
	} else {
		_, err = j.opts.Store.CompareAndDelete(ctx, key, ver)
	}
	if errors.Is(err, store.ErrConflict) {
		// Another writer loaded the record and handed the events over itself.
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot clear handed-over events of %s: %w", key, err)
	}
	return nil
}

// load reads the record at key; a missing key is an empty record of shard.
// Events left pending by a previous run are handed over first.
func (j *Judge) load(ctx context.Context, key string, shard int) (record, uint64, error) {
	for range maxConflicts {
		e, err := j.opts.Store.Get(ctx, key)
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
		if err := j.handOver(ctx, key, rec, e.Version, true); err != nil {
			return record{}, 0, err
		}
	}
	return record{}, 0, fmt.Errorf("cannot read judge state %s: %w", key, store.ErrConflict)
}
