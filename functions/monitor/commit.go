package monitor

import (
	"context"
	"fmt"
	"time"

	"github.com/wharfhq/wharf/monitoring/seriesstore"
)

// Group commit and group fsync of one shard. The commit loop takes every
// batch waiting in the shard's queue (up to maxGroupPoints) and appends
// them to the store's log in one Append, without an fsync; the batches
// then wait for the next fsync of the log, which a second goroutine runs
// (Store.Sync: without the store's lock, so the next groups are appended
// meanwhile) and after which it answers their handlers, which acknowledge
// the messages to nsqd. A batch is therefore acknowledged only once its
// points are durable. An fsync starts when batches wait for one, none is
// running, and SyncInterval has passed since the previous one started,
// or at once when every batch the consumer may hold (MaxInFlight) waits:
// no more can come before it.

// commit writes the queued batches of a shard until ctx ends; on the way
// out the batches written are synced and answered.
func (w *Writer) commit(ctx context.Context, shard int, st *seriesstore.Store, queue <-chan *writeReq) {
	toSync := make(chan []*writeReq)
	synced := make(chan []*writeReq)
	go func() {
		defer close(synced)
		for reqs := range toSync {
			w.syncAndAnswer(shard, st, reqs)
			synced <- reqs
		}
	}()
	var (
		group, pending, spare []*writeReq
		points                []seriesstore.Point
		syncing               bool
		lastSync              time.Time // when the last fsync started
	)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		var wake <-chan time.Time
		if len(pending) > 0 && !syncing {
			timer.Reset(time.Until(lastSync.Add(w.opts.SyncInterval)))
			wake = timer.C
		}
		select {
		case <-ctx.Done():
			if syncing {
				<-synced
			}
			if len(pending) > 0 {
				w.syncAndAnswer(shard, st, pending)
			}
			close(toSync)
			return
		case r := <-queue:
			group, points = append(group[:0], r), append(points[:0], r.points...)
		more:
			for len(points) < maxGroupPoints {
				select {
				case r := <-queue:
					group, points = append(group, r), append(points, r.points...)
				default:
					break more
				}
			}
			if err := w.append(shard, st, points); err != nil {
				for _, r := range group {
					r.done <- err
				}
			} else {
				pending = append(pending, group...)
			}
			clear(points) // before the handlers reuse the keys' bytes
			clear(group)
		case <-wake:
		case reqs := <-synced:
			syncing, spare = false, reqs[:0]
		}
		if len(pending) > 0 && !syncing && (len(pending) >= w.opts.MaxInFlight || time.Since(lastSync) >= w.opts.SyncInterval) {
			lastSync, syncing = time.Now(), true
			toSync <- pending
			pending = spare
			spare = nil
		}
	}
}

// append writes the points of a group to the store's log and counts them.
func (w *Writer) append(shard int, st *seriesstore.Store, points []seriesstore.Point) error {
	res, err := st.Append(points)
	if err != nil {
		return fmt.Errorf("cannot write series shard %d: %w", shard, err)
	}
	w.stats.accepted.Add(res.Accepted)
	w.stats.stale.Add(res.Stale)
	w.stats.skipped.Add(res.Skipped)
	w.stats.rejected.Add(res.Rejected)
	w.stats.overLimit.Add(res.OverLimit)
	w.stats.noSpace.Add(res.NoSpace)
	return nil
}

// syncAndAnswer fsyncs the store's log and answers the requests it covers.
func (w *Writer) syncAndAnswer(shard int, st *seriesstore.Store, reqs []*writeReq) {
	before := st.Syncs()
	err := st.Sync()
	if err != nil {
		err = fmt.Errorf("cannot write series shard %d: %w", shard, err)
	}
	// Only the fsyncs made: a Sync with nothing new to sync (or one that
	// failed) makes none.
	w.stats.syncs.Add(int(st.Syncs() - before))
	for _, r := range reqs {
		r.done <- err
	}
	clear(reqs)
}
