package judge

import (
	"context"
	"time"

	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/leases"
)

// newLeases makes the lease manager through which judges split the
// shards (internal/leases: members under MemberPrefix, leases under
// LeasePrefix holding the node ID): a shard's consumer runs only while
// its lease is held.
func (j *Judge) newLeases() (*leases.Manager, error) {
	return leases.New(leases.Options{
		Store: j.opts.Store, LeasePrefix: LeasePrefix, MemberPrefix: MemberPrefix,
		NodeID: j.opts.NodeID, Shards: j.opts.Shards, TTL: j.opts.LeaseTTL,
		Start: j.startShard, Stop: j.stopShard, Logger: j.log,
	})
}

// startShard starts the consumer of shard i, whose lease was just taken.
func (j *Judge) startShard(ctx context.Context, i int) error {
	c, err := bus.NewConsumer(bus.ConsumerOptions{
		Topic: wire.JudgeTopic(i), Channel: wire.JudgeChannel,
		NSQDAddrs: j.opts.NSQDAddrs, LookupdHTTPAddrs: j.opts.LookupdHTTPAddrs,
		Security: j.opts.Security, MaxInFlight: j.opts.MaxInFlight, MsgTimeout: j.opts.MsgTimeout,
		Metrics: j.opts.Metrics,
		// One handler per shard: batches of a series are judged in the
		// order they were published (a point older than the state's
		// newest would be skipped).
		Concurrency: 1,
		Handler:     func(ctx context.Context, m *bus.Message) error { return j.handleMessage(ctx, i, m.Body, m) },
		Logger:      j.log,
	})
	if err != nil {
		return err
	}
	cache := newShardCache()
	stop := make(chan struct{})
	j.mu.Lock()
	j.caches[i], j.flushers[i] = cache, stop
	j.mu.Unlock()
	if j.opts.FlushInterval > 0 {
		go j.flushLoop(context.WithoutCancel(ctx), i, cache, stop)
	}
	if err := c.Start(ctx); err != nil {
		_ = c.Stop()
		j.dropCache(i)
		return err
	}
	j.mu.Lock()
	j.consumers[i] = c
	j.mu.Unlock()
	j.requestPendingSweep() // events a previous holder decided but did not publish
	return nil
}

// stopShard stops the consumer of shard i before its lease is released
// (or after it was lost).
func (j *Judge) stopShard(i int) {
	j.mu.Lock()
	c := j.consumers[i]
	delete(j.consumers, i)
	cache := j.caches[i]
	j.mu.Unlock()
	if cache != nil {
		// Batches from now on are flushed at once, and the consumer's stop
		// waits for held ones: flush those first.
		cache.mu.Lock()
		cache.stopping = true
		ctx, cancel := context.WithTimeout(context.Background(), stopFlushTimeout)
		err := j.flushLocked(ctx, cache)
		cancel()
		if err != nil {
			j.log.Warn("cannot flush judge states of a stopping shard; their batches come again", "shard", i, "err", err)
		}
		cache.mu.Unlock()
	}
	if c != nil {
		if err := c.Stop(); err != nil {
			j.log.Warn("cannot stop shard consumer", "shard", i, "err", err)
		}
	}
	j.dropCache(i)
	j.series[i].reset() // the shard's series are another judge's now
}

// stopFlushTimeout bounds the flush of a stopping shard: a store that does
// not answer must not hold the stop (the held batches come again).
const stopFlushTimeout = 10 * time.Second

// dropCache stops shard i's flush loop and forgets its cache, answering
// any batch still held (a flush, or a requeue when the store fails).
func (j *Judge) dropCache(i int) {
	j.mu.Lock()
	cache, stop := j.caches[i], j.flushers[i]
	delete(j.caches, i)
	delete(j.flushers, i)
	j.mu.Unlock()
	if stop != nil {
		close(stop)
	}
	if cache == nil {
		return
	}
	cache.mu.Lock()
	defer cache.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), stopFlushTimeout)
	defer cancel()
	if err := j.flushLocked(ctx, cache); err != nil {
		j.log.Warn("cannot flush judge states of a stopped shard; their batches come again", "shard", i, "err", err)
	}
	for _, e := range cache.entries { // dropped, holding nothing
		release(e)
	}
	clear(cache.entries)
}

// holds reports whether shard i's lease is held now.
func (j *Judge) holds(i int) bool { return j.leases.Holds(i) }
