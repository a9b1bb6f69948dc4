package notify

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/store"
)

// queueRef names one receiver queue.
type queueRef struct{ team, receiver string }

func (q queueRef) String() string { return q.team + "/" + q.receiver }

// deliverLoop scans the queues and starts a worker for each queue with a
// due delivery whose lease this node gets, at most MaxWorkers at once. It
// scans again when the earliest queued delivery comes due, when poked (a
// delivery was queued here, or a worker that sent something stopped) and
// at least every ScanInterval (deliveries queued by other nodes). A queue
// this node already works is nudged instead. It returns when ctx ends and
// every worker has stopped.
func (n *Notifier) deliverLoop(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTimer(n.opts.ScanInterval)
	defer t.Stop()
	for {
		due, next := n.dueQueues(ctx)
		for _, q := range append(due, n.stormDue(ctx)...) {
			nudge, ok := n.startWork(q)
			if !ok {
				continue
			}
			lease, ok := n.acquire(ctx, q)
			if !ok {
				n.endWork(q)
				continue
			}
			wg.Go(func() {
				sent := n.work(ctx, q, lease, nudge)
				n.endWork(q)
				if sent {
					// What it queued again (a retry's back-off) is
					// scheduled by the next scan, and so is what another
					// node queued while this one held the lease.
					n.poke()
				}
			})
		}
		t.Reset(n.nextScan(next))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-n.wake:
		}
	}
}

// nextScan is how long until the next scan: until next (the earliest
// delivery not due yet; zero: none), at most ScanInterval.
func (n *Notifier) nextScan(next int64) time.Duration {
	wait := n.opts.ScanInterval
	if next > 0 {
		wait = min(wait, time.Duration(next-n.opts.Now().UnixMilli())*time.Millisecond)
	}
	return max(wait, 0)
}

// dueQueues lists the queues that have a delivery due now and the due
// time (Unix ms) of the earliest delivery not due yet (0: none), and
// counts the queue depth.
func (n *Notifier) dueQueues(ctx context.Context) (out []queueRef, next int64) {
	now := n.opts.Now().UnixMilli()
	seen := map[queueRef]bool{}
	depth := int64(0)
	for e, err := range store.Entries(ctx, n.opts.Store, wire.QueuePrefix, store.ScanOptions{PageTimeout: storeTimeout}) {
		if err != nil {
			if ctx.Err() == nil {
				n.log.Warn("cannot scan delivery queues", "err", err)
			}
			return out, next
		}
		depth++
		q, due, _, ok := parseQueueKey(e.Key)
		if !ok {
			continue
		}
		if due > now {
			if next == 0 || due < next {
				next = due
			}
			continue
		}
		if seen[q] {
			continue
		}
		seen[q] = true
		out = append(out, q)
	}
	n.depth.Store(depth)
	return out, next
}

// parseQueueKey splits wire.QueueKey.
func parseQueueKey(key string) (q queueRef, dueMillis int64, idem string, ok bool) {
	parts := strings.Split(strings.TrimPrefix(key, wire.QueuePrefix), "/")
	if len(parts) != 4 {
		return q, 0, "", false
	}
	due, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return q, 0, "", false
	}
	return queueRef{parts[0], parts[1]}, due, parts[3], true
}

// startWork marks q worked on by this node and returns the channel that
// nudges its worker, unless MaxWorkers are busy or q is already worked
// here (then its worker is nudged: something came due).
func (n *Notifier) startWork(q queueRef) (chan struct{}, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if nudge, ok := n.working[q.String()]; ok {
		select {
		case nudge <- struct{}{}:
		default:
		}
		return nil, false
	}
	if len(n.working) >= n.opts.MaxWorkers {
		return nil, false
	}
	nudge := make(chan struct{}, 1)
	n.working[q.String()] = nudge
	return nudge, true
}

func (n *Notifier) endWork(q queueRef) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.working, q.String())
}

// work delivers q's due entries while it holds q's lease (see lanes.go)
// and reports whether it sent or settled anything. The lease is released
// before it returns.
func (n *Notifier) work(ctx context.Context, q queueRef, lease uint64, nudge <-chan struct{}) bool {
	wctx, lost := context.WithCancel(ctx)
	defer lost()
	var renew sync.WaitGroup
	renew.Go(func() { n.keepLease(wctx, q, lease, lost) })
	defer renew.Wait()
	defer lost()
	n.flushStorm(context.WithoutCancel(wctx), q)
	return n.runLanes(wctx, q, nudge)
}

// acquire takes q's lease (compare-and-swap on an absent key, with TTL).
func (n *Notifier) acquire(ctx context.Context, q queueRef) (uint64, bool) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	v, err := n.opts.Store.CompareAndSwap(ctx, wire.QueueLeaseKey(q.team, q.receiver), 0, []byte(n.opts.NodeID), store.PutOptions{TTL: n.opts.LeaseTTL})
	if err != nil {
		if !errors.Is(err, store.ErrConflict) && ctx.Err() == nil {
			n.log.Warn("cannot take queue lease", "queue", q.String(), "err", err)
		}
		return 0, false
	}
	return v, true
}

// keepLease renews the lease every LeaseTTL/3 until ctx ends, then
// releases it; a renewal that fails calls lost (the worker stops; whoever
// takes the queue next retries what was in flight with the same key).
func (n *Notifier) keepLease(ctx context.Context, q queueRef, v uint64, lost context.CancelFunc) {
	key := wire.QueueLeaseKey(q.team, q.receiver)
	t := time.NewTicker(n.opts.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
			_, _ = n.opts.Store.CompareAndDelete(rctx, key, v)
			cancel()
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, storeTimeout)
		nv, err := n.opts.Store.CompareAndSwap(rctx, key, v, []byte(n.opts.NodeID), store.PutOptions{TTL: n.opts.LeaseTTL})
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				n.log.Warn("queue lease lost", "queue", q.String(), "err", err)
			}
			lost()
			return
		}
		v = nv
	}
}
