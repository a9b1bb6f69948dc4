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

// deliverLoop starts a worker for each queue with a due delivery whose
// lease this node gets, at most MaxWorkers at once; a queue this node
// already works is nudged instead. It finds the due queues in its wake-ups
// (what this node queued, see wakeups.go), sleeping until the earliest,
// and by scanning every queue every ScanInterval (what other nodes queued,
// what was left by a node that stopped). It returns when ctx ends and
// every worker has stopped.
func (n *Notifier) deliverLoop(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTimer(n.opts.ScanInterval)
	defer t.Stop()
	var lastScan time.Time
	for {
		var due []queueRef
		if time.Since(lastScan) >= n.opts.ScanInterval {
			lastScan = time.Now()
			var later map[queueRef]int64
			due, later = n.dueQueues(ctx)
			for q, at := range later {
				n.soon.add(q, at)
			}
			due = append(due, n.stormDue(ctx)...)
		}
		now := n.opts.Now().UnixMilli()
		woken, _ := n.soon.take(now)
		seen := map[queueRef]bool{}
		for _, q := range append(due, woken...) {
			if seen[q] {
				continue
			}
			seen[q] = true
			nudge, ok, busy := n.startWork(q)
			if busy {
				n.soon.add(q, now+leaseRetry.Milliseconds())
			}
			if !ok {
				continue
			}
			lease, ok := n.acquire(ctx, q)
			if !ok {
				n.endWork(q)
				n.soon.add(q, now+leaseRetry.Milliseconds()) // whoever holds it may stop before it is done
				continue
			}
			wg.Go(func() {
				sent, next := n.work(ctx, q, lease, nudge)
				n.endWork(q)
				if next > 0 {
					n.soon.add(q, next)
				}
				if sent {
					// Once more: what another node queued while this
					// one held the lease.
					n.soon.add(q, n.opts.Now().UnixMilli())
				}
				n.poke()
			})
		}
		wait := n.opts.ScanInterval - time.Since(lastScan)
		if next := n.soon.earliest(); next > 0 {
			wait = min(wait, time.Duration(next-n.opts.Now().UnixMilli())*time.Millisecond)
		}
		t.Reset(max(wait, 0))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-n.wake:
		}
	}
}

// dueQueues lists the queues that have a delivery due now and the earliest
// due time (Unix ms) of each queue with none due yet, and counts the queue
// depth.
func (n *Notifier) dueQueues(ctx context.Context) (out []queueRef, later map[queueRef]int64) {
	now := n.opts.Now().UnixMilli()
	seen := map[queueRef]bool{}
	later = map[queueRef]int64{}
	depth := int64(0)
	for e, err := range store.Entries(ctx, n.opts.Store, wire.QueuePrefix, store.ScanOptions{PageTimeout: storeTimeout}) {
		if err != nil {
			if ctx.Err() == nil {
				n.log.Warn("cannot scan delivery queues", "err", err)
			}
			return out, later
		}
		depth++
		q, due, _, ok := parseQueueKey(e.Key)
		if !ok || seen[q] {
			continue
		}
		seen[q] = true // a queue's entries come in due order: the first decides
		if due > now {
			later[q] = due
			continue
		}
		out = append(out, q)
	}
	n.depth.Store(depth)
	return out, later
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
// nudges its worker. When q is already worked here its worker is nudged
// (something came due); when MaxWorkers are busy it reports busy.
func (n *Notifier) startWork(q queueRef) (nudge chan struct{}, ok, busy bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if nudge, ok := n.working[q.String()]; ok {
		select {
		case nudge <- struct{}{}:
		default:
		}
		return nil, false, false
	}
	if len(n.working) >= n.opts.MaxWorkers {
		return nil, false, true
	}
	nudge = make(chan struct{}, 1)
	n.working[q.String()] = nudge
	return nudge, true, false
}

func (n *Notifier) endWork(q queueRef) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.working, q.String())
}

// work delivers q's due entries while it holds q's lease (see lanes.go)
// and reports whether it sent or settled anything and the due time of
// q's next entry it saw (0: none). The lease is released before it
// returns.
func (n *Notifier) work(ctx context.Context, q queueRef, lease uint64, nudge <-chan struct{}) (bool, int64) {
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
