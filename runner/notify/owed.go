package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/alarm"
	"github.com/wharfhq/wharf/monitoring/event"
)

// Publisher publishes a batch of messages to a topic, returning once
// nsqd acknowledged them (bus.Producer).
type Publisher interface {
	MultiPublish(ctx context.Context, topic string, bodies [][]byte) error
}

// owed reports whether the judge's owed entry key still waits for this
// node or another to record its event.
func (n *Notifier) owed(ctx context.Context, key string) bool {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	_, err := n.opts.Store.Get(ctx, key)
	return err == nil
}

// settleOwed deletes the owed entry key: its event's case step is recorded.
// A failure is only logged — the reconciler publishes the event again
// and its second delivery changes nothing.
func (n *Notifier) settleOwed(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if _, err := n.opts.Store.Delete(ctx, key); err != nil && !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
		n.log.Warn("cannot settle owed alarm event", "key", key, "err", err)
	}
}

// owedLoop is the reconciler of owed judge events: every OwedAfter/3, the
// node holding the lease wire.OwedLeaseKey publishes again the events
// owed for longer than OwedAfter (nsqd lost them: killed while they were
// in flight) and marks them handed over now. Notify's idempotence per
// (case, step) absorbs a republished event that was not lost after all.
func (n *Notifier) owedLoop(ctx context.Context) {
	every := n.opts.OwedAfter / 3
	t := time.NewTicker(every)
	defer t.Stop()
	var lease uint64
	defer func() {
		if lease != 0 {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
			_, _ = n.opts.Store.CompareAndDelete(rctx, wire.OwedLeaseKey, lease)
			cancel()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if lease = n.owedLease(ctx, lease); lease == 0 {
			continue
		}
		// The lease is renewed before every batch a scan publishes: a scan
		// that outlives the lease's TTL (a backlog, a slow store) stops
		// rather than publish beside the node that took it over.
		renew := func() bool {
			lease = n.owedLease(ctx, lease)
			return lease != 0
		}
		if err := n.reconcileOwed(ctx, renew); err != nil && ctx.Err() == nil {
			n.log.Warn("reconciling owed alarm events failed", "err", err)
		}
	}
}

// owedLease takes or renews the reconciler's lease (held: its version, 0
// when not held) and returns its new version, 0 when another node holds it.
func (n *Notifier) owedLease(ctx context.Context, held uint64) uint64 {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	v, err := n.opts.Store.CompareAndSwap(ctx, wire.OwedLeaseKey, held, []byte(n.opts.NodeID), store.PutOptions{TTL: n.opts.OwedAfter})
	if err == nil {
		return v
	}
	if held != 0 { // lost (expired, taken): try to take it afresh
		if v, err = n.opts.Store.CompareAndSwap(ctx, wire.OwedLeaseKey, 0, []byte(n.opts.NodeID), store.PutOptions{TTL: n.opts.OwedAfter}); err == nil {
			return v
		}
	}
	return 0
}

// errOwedLeaseLost ends a reconciler scan whose lease another node took.
var errOwedLeaseLost = errors.New("the owed-events lease was lost during a scan")

// owedBatch bounds the events of one republish.
const owedBatch = 256

// reconcileOwed publishes again the owed events that are due (owed longer
// than OwedAfter, doubled per earlier republish: wire.Owed.Due), in
// batches, and stamps each with the time of its new hand-over and the
// count (an entry notify deleted or the judge rewrote meanwhile is left
// alone).
func (n *Notifier) reconcileOwed(ctx context.Context, renew func() bool) error {
	now := n.opts.Now()
	var keys []string
	var counts []int
	var versions []uint64
	var bodies [][]byte
	var ttls []time.Duration
	flush := func() error {
		if len(bodies) == 0 {
			return nil
		}
		if !renew() {
			return errOwedLeaseLost
		}
		pctx, cancel := context.WithTimeout(ctx, storeTimeout)
		err := n.opts.Publisher.MultiPublish(pctx, topicAlarms, bodies)
		cancel()
		if err != nil {
			return err
		}
		n.stats.republished.Add(len(bodies))
		now := n.opts.Now()
		for i, k := range keys {
			val, err := wire.EncodeOwed(bodies[i], now, counts[i]+1)
			if err != nil {
				continue
			}
			// The entry keeps the expiry the judge gave it: an event notify
			// never records (dead-lettered) is republished with back-off
			// until then, not for ever.
			sctx, cancel := context.WithTimeout(ctx, storeTimeout)
			_, _ = n.opts.Store.CompareAndSwap(sctx, k, versions[i], val, store.PutOptions{TTL: ttls[i]})
			cancel()
		}
		keys, versions, bodies, counts, ttls = keys[:0], versions[:0], bodies[:0], counts[:0], ttls[:0]
		return nil
	}
	for e, err := range store.Entries(ctx, n.opts.Store, wire.OwedPrefix, store.ScanOptions{PageTimeout: storeTimeout}) {
		if err != nil {
			return err
		}
		o, err := wire.DecodeOwed(e.Value)
		if err != nil {
			n.settleOwed(ctx, e.Key) // not the judge's: nothing to publish
			continue
		}
		if !o.Due(now, n.opts.OwedAfter) {
			continue
		}
		ttl := wire.OwedTTL
		if !e.ExpiresAt.IsZero() {
			if ttl = e.ExpiresAt.Sub(now); ttl < time.Second {
				continue // about to expire: not published again
			}
		}
		keys, versions, bodies, counts = append(keys, e.Key), append(versions, e.Version), append(bodies, []byte(o.Event)), append(counts, o.Republished)
		ttls = append(ttls, ttl)
		if len(bodies) == owedBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// applyOwedBefore applies and dispatches, oldest first, the owed events
// of ev's case that are older than ev: nsqd lost them (or they are late)
// and ev must not overtake them — an OK on a case whose PROBLEM never
// arrived would change nothing, and the PROBLEM coming after it would
// open a case nothing resolves. Each is settled once recorded; when it
// comes again (the reconciler), it is older than the case and a no-op.
func (n *Notifier) applyOwedBefore(ctx context.Context, ev event.Event) error {
	var older []event.Event
	for e, err := range store.Entries(ctx, n.opts.Store, wire.OwedPrefix+ev.ID+"/", store.ScanOptions{PageTimeout: storeTimeout}) {
		if err != nil {
			return fmt.Errorf("cannot list owed events of %s: %w", ev.ID, err)
		}
		o, err := wire.DecodeOwed(e.Value)
		if err != nil {
			continue
		}
		prev, err := event.Unmarshal(o.Event)
		if err != nil || prev.ID != ev.ID || !before(prev, ev) {
			continue
		}
		older = append(older, prev)
	}
	slices.SortFunc(older, func(a, b event.Event) int {
		if before(a, b) {
			return -1
		}
		if before(b, a) {
			return 1
		}
		return 0
	})
	for _, prev := range older {
		c, changes, err := n.updateCase(ctx, prev.ID, func(c alarm.Case) (alarm.Case, []alarm.Change) { return alarm.Apply(c, prev) })
		if err != nil {
			return err
		}
		if len(changes) == 0 && c.StepKey == alarm.StepKey(prev) {
			// Its case step was written by a delivery that died before
			// its claims: dispatch it now (claims are idempotent), before
			// the entry that would let the reconciler recover it goes.
			changes = []alarm.Change{currentChange(c)}
		}
		if err := n.dispatch(ctx, c, changes); err != nil {
			return err
		}
		n.settleOwed(ctx, wire.OwedKey(prev.ID, alarm.StepKey(prev)))
	}
	return nil
}

// before reports whether the judge decided a before b (one series: by
// event time, then step).
func before(a, b event.Event) bool {
	if a.EventTime != b.EventTime {
		return a.EventTime < b.EventTime
	}
	return a.CurrentStep < b.CurrentStep
}
