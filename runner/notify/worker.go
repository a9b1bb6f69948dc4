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

// deliverLoop scans the queues every ScanInterval (or when poked) and
// starts a worker for each queue with a due delivery whose lease this
// node gets, at most MaxWorkers at once. It returns when ctx ends and
// every worker has stopped.
func (n *Notifier) deliverLoop(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(n.opts.ScanInterval)
	defer t.Stop()
	for {
		for _, q := range append(n.dueQueues(ctx), n.stormDue(ctx)...) {
			if !n.startWork(q) {
				continue
			}
			lease, ok := n.acquire(ctx, q)
			if !ok {
				n.endWork(q)
				continue
			}
			wg.Go(func() {
				defer n.endWork(q)
				n.work(ctx, q, lease)
			})
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-n.wake:
		}
	}
}

// dueQueues lists the queues that have a delivery due now, and counts
// the queue depth.
func (n *Notifier) dueQueues(ctx context.Context) []queueRef {
	now := n.opts.Now().UnixMilli()
	var out []queueRef
	seen := map[queueRef]bool{}
	depth := int64(0)
	for e, err := range store.Entries(ctx, n.opts.Store, wire.QueuePrefix, store.ScanOptions{PageTimeout: storeTimeout}) {
		if err != nil {
			if ctx.Err() == nil {
				n.log.Warn("cannot scan delivery queues", "err", err)
			}
			return out
		}
		depth++
		q, due, _, ok := parseQueueKey(e.Key)
		if !ok || seen[q] || due > now {
			continue
		}
		seen[q] = true
		out = append(out, q)
	}
	n.depth.Store(depth)
	return out
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

// startWork marks q worked on by this node, unless it is already or
// MaxWorkers are busy.
func (n *Notifier) startWork(q queueRef) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.working[q.String()] || len(n.working) >= n.opts.MaxWorkers {
		return false
	}
	n.working[q.String()] = true
	return true
}

func (n *Notifier) endWork(q queueRef) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.working, q.String())
}

// work delivers q's due entries in due order while it holds q's lease.
func (n *Notifier) work(ctx context.Context, q queueRef, lease uint64) {
	wctx, lost := context.WithCancel(ctx)
	defer lost()
	var renew sync.WaitGroup
	renew.Go(func() { n.keepLease(wctx, q, lease, lost) })
	defer renew.Wait()
	defer lost()
	n.flushStorm(context.WithoutCancel(wctx), q)
	for wctx.Err() == nil {
		page, err := listQueue(wctx, n.opts.Store, q)
		if err != nil {
			if wctx.Err() == nil {
				n.log.Warn("cannot list delivery queue", "queue", q.String(), "err", err)
			}
			return
		}
		now := n.opts.Now().UnixMilli()
		progressed := false
		for _, e := range page {
			_, due, idem, ok := parseQueueKey(e.Key)
			if !ok || due > now {
				break
			}
			if wctx.Err() != nil {
				return
			}
			if n.deliver(wctx, q, e, idem) {
				progressed = true
			}
		}
		if !progressed {
			return
		}
	}
}

func listQueue(ctx context.Context, st store.Store, q queueRef) ([]store.Entry, error) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	p, err := st.List(ctx, wire.QueueOf(q.team, q.receiver), store.ListOptions{Limit: 100})
	return p.Entries, err
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
