package judge

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/store"
)

// shardRun is a held shard: the lease's version and the shard's consumer.
type shardRun struct {
	version  uint64
	renewed  time.Time
	consumer *bus.Consumer
}

// leaseKey is the store key of shard i's lease.
func leaseKey(i int) string { return LeasePrefix + strconv.Itoa(i) }

// balance announces this judge, renews its leases, gives up shards above
// its even share and takes free ones up to it. A consumer runs only while
// its lease is held: it is started after the lease is taken and stopped
// before the lease is released.
func (j *Judge) balance(ctx context.Context) {
	ttl := store.PutOptions{TTL: j.opts.LeaseTTL}
	if _, err := j.opts.Store.Put(ctx, MemberPrefix+j.opts.NodeID, []byte(j.opts.NodeID), ttl); err != nil {
		j.log.Warn("cannot announce judge", "err", err)
	}
	members := 0
	for _, err := range store.Entries(ctx, j.opts.Store, MemberPrefix, store.ScanOptions{}) {
		if err != nil {
			j.log.Warn("cannot list judges", "err", err)
			j.dropStale(ctx)
			return
		}
		members++
	}
	share := (j.opts.Shards + max(members, 1) - 1) / max(members, 1)
	held := map[int]uint64{}
	for e, err := range store.Entries(ctx, j.opts.Store, LeasePrefix, store.ScanOptions{}) {
		if err != nil {
			j.log.Warn("cannot list shard leases", "err", err)
			j.dropStale(ctx)
			return
		}
		i, err := strconv.Atoi(strings.TrimPrefix(e.Key, LeasePrefix))
		if err != nil || i < 0 || i >= j.opts.Shards {
			continue
		}
		if string(e.Value) == j.opts.NodeID {
			held[i] = e.Version
		} else {
			held[i] = 0 // someone else's
		}
	}
	self := []byte(j.opts.NodeID)
	mine := 0
	for _, i := range j.Owned() {
		v, ok := held[i]
		if !ok || v == 0 || mine >= share {
			j.drop(ctx, i, ok && v != 0)
			continue
		}
		nv, err := j.opts.Store.CompareAndSwap(ctx, leaseKey(i), v, self, ttl)
		if err != nil {
			j.log.Warn("lost shard lease", "shard", i, "err", err)
			j.drop(ctx, i, false)
			continue
		}
		j.setVersion(i, nv)
		mine++
	}
	for i := range j.opts.Shards {
		if mine >= share {
			return
		}
		if _, taken := held[i]; taken {
			continue
		}
		v, err := j.opts.Store.CompareAndSwap(ctx, leaseKey(i), 0, self, ttl)
		if err != nil {
			if !errors.Is(err, store.ErrConflict) {
				j.log.Warn("cannot take shard lease", "shard", i, "err", err)
			}
			continue
		}
		if err := j.startShard(ctx, i, v); err != nil {
			j.log.Warn("cannot consume shard", "shard", i, "err", err)
			_, _ = j.opts.Store.CompareAndDelete(ctx, leaseKey(i), v)
			continue
		}
		mine++
	}
}

// dropStale stops consuming the shards whose lease was last renewed half
// a TTL ago: a judge cut off from the store stops before its leases expire
// and another judge takes the shards.
func (j *Judge) dropStale(ctx context.Context) {
	limit := time.Now().Add(-j.opts.LeaseTTL / 2)
	var stale []int
	j.mu.Lock()
	for i, r := range j.owned {
		if r.renewed.Before(limit) {
			stale = append(stale, i)
		}
	}
	j.mu.Unlock()
	for _, i := range stale {
		j.log.Warn("cannot renew shard lease, giving the shard up", "shard", i)
		j.drop(ctx, i, false)
	}
}

// setVersion records the renewed lease version of shard i.
func (j *Judge) setVersion(i int, v uint64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if r := j.owned[i]; r != nil {
		r.version, r.renewed = v, time.Now()
	}
}

// startShard starts the consumer of shard i, whose lease has version v.
func (j *Judge) startShard(ctx context.Context, i int, v uint64) error {
	c, err := bus.NewConsumer(bus.ConsumerOptions{
		Topic: wire.JudgeTopic(i), Channel: wire.JudgeChannel,
		NSQDAddrs: j.opts.NSQDAddrs, LookupdHTTPAddrs: j.opts.LookupdHTTPAddrs,
		Security: j.opts.Security, MaxInFlight: j.opts.MaxInFlight, MsgTimeout: j.opts.MsgTimeout,
		Metrics: j.opts.Metrics,
		// One handler per shard: batches of a series are judged in the
		// order they were published (a point older than the state's
		// newest would be skipped).
		Concurrency: 1,
		Handler:     func(ctx context.Context, m *bus.Message) error { return j.handle(ctx, i, m.Body) },
		Logger:      j.log,
	})
	if err != nil {
		return err
	}
	if err := c.Start(ctx); err != nil {
		_ = c.Stop()
		return err
	}
	j.mu.Lock()
	j.owned[i] = &shardRun{version: v, renewed: time.Now(), consumer: c}
	j.mu.Unlock()
	j.log.Info("took shard", "shard", i)
	j.requestPendingSweep() // events a previous holder decided but did not publish
	return nil
}

// drop stops consuming shard i and, when release, deletes its lease.
func (j *Judge) drop(ctx context.Context, i int, release bool) {
	j.mu.Lock()
	r := j.owned[i]
	delete(j.owned, i)
	j.mu.Unlock()
	if r == nil {
		return
	}
	if err := r.consumer.Stop(); err != nil {
		j.log.Warn("cannot stop shard consumer", "shard", i, "err", err)
	}
	if release {
		if _, err := j.opts.Store.CompareAndDelete(ctx, leaseKey(i), r.version); err != nil && !errors.Is(err, store.ErrConflict) {
			j.log.Warn("cannot release shard lease", "shard", i, "err", err)
		}
	}
	j.log.Info("gave up shard", "shard", i)
}

// releaseAll stops every consumer and releases the leases and membership,
// so that other judges take the shards over at once.
func (j *Judge) releaseAll() {
	ctx, cancel := context.WithTimeout(context.Background(), j.opts.LeaseTTL)
	defer cancel()
	for _, i := range j.Owned() {
		j.drop(ctx, i, true)
	}
	if _, err := j.opts.Store.Delete(ctx, MemberPrefix+j.opts.NodeID); err != nil && !errors.Is(err, store.ErrNotFound) {
		j.log.Warn("cannot remove judge membership", "err", err)
	}
}

// holds reports whether shard i is owned now.
func (j *Judge) holds(i int) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.owned[i] != nil
}
