package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/leases"
	"github.com/wharfhq/wharf/monitoring/seriesstore"
)

// shardRun is a shard this writer stores: its store, the queue of its
// group commits, its consumer, and the goroutines of a running shard.
type shardRun struct {
	store    *seriesstore.Store
	queue    chan *writeReq
	consumer *bus.Consumer
	cancel   context.CancelFunc // nil until runShard
	wg       sync.WaitGroup
}

// sinceFile, in a shard's directory, holds since when this node stores
// the shard (Unix nanoseconds): shards stored longest are kept first and
// a restarted node takes its own back. It is removed when the shard is
// handed to another writer (its even share), kept on a stop.
const sinceFile = "SINCE"

// openShard opens (and recovers) the store of shard s and prepares its consumer.
func (w *Writer) openShard(s int) (*shardRun, error) {
	dir := filepath.Join(w.opts.Dir, strconv.Itoa(s))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create series shard %d: %w", s, err)
	}
	since := filepath.Join(dir, sinceFile)
	if _, err := os.Stat(since); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(since, []byte(strconv.FormatInt(time.Now().UnixNano(), 10)), 0o600); err != nil {
			return nil, fmt.Errorf("cannot create series shard %d: %w", s, err)
		}
	}
	// The shards apply their logged points at different moments, so that
	// the applies (a core's work for a while each; the store's Appends go
	// on beside them) are not all at once: the checkpoints are spread
	// over the interval and the bounds of waiting points differ (shards
	// fill up at the same rate).
	phase := float64(s+1) / float64(w.opts.Shards+1)
	st, err := seriesstore.Open(seriesstore.Options{Dir: dir, MaxSeries: w.opts.MaxSeries, Logger: w.opts.Logger,
		CheckpointPhase: phase, MaxDeferredPoints: deferredBound(phase)})
	if err != nil {
		return nil, fmt.Errorf("cannot open series shard %d: %w", s, err)
	}
	sr := &shardRun{store: st, queue: make(chan *writeReq, w.opts.MaxInFlight)}
	sr.consumer, err = bus.NewConsumer(bus.ConsumerOptions{
		Topic: wire.SeriesTopic(s), Channel: wire.SeriesChannel,
		NSQDAddrs: w.opts.NSQDAddrs, LookupdHTTPAddrs: w.opts.LookupdHTTPAddrs, Security: w.opts.Security,
		MaxInFlight: w.opts.MaxInFlight, Concurrency: w.opts.MaxInFlight,
		Handler: w.handler(s, sr.queue), Logger: w.opts.Logger, Metrics: w.opts.Metrics,
	})
	if err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("cannot create series writer: %w", err)
	}
	return sr, nil
}

// runShard starts the group commits and checkpoints of shard s, then its
// consumer. They run until stopShard.
func (w *Writer) runShard(ctx context.Context, s int, sr *shardRun) error {
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	sr.cancel = cancel
	sr.wg.Go(func() { w.commit(sctx, s, sr.store, sr.queue) })
	sr.wg.Go(func() {
		if err := sr.store.Run(sctx); err != nil {
			w.addErr(fmt.Errorf("series shard %d: %w", s, err))
		}
	})
	if err := sr.consumer.Start(ctx); err != nil {
		return fmt.Errorf("cannot consume series shard %d: %w", s, err)
	}
	return nil
}

// stopShard stops shard s: no query reads it any more, its consumer stops
// (the batches in progress are written and acknowledged), then its
// commits and checkpoints, and its store is closed.
func (w *Writer) stopShard(s int) {
	w.mu.Lock()
	sr := w.shards[s]
	delete(w.shards, s)
	w.mu.Unlock()
	if sr == nil {
		return
	}
	w.closeShard(s, sr)
}

func (w *Writer) closeShard(s int, sr *shardRun) {
	if err := sr.consumer.Stop(); err != nil {
		w.addErr(err)
	}
	if sr.cancel != nil {
		sr.cancel()
		sr.wg.Wait()
	}
	if err := sr.store.Close(); err != nil {
		w.addErr(fmt.Errorf("cannot close series shard %d: %w", s, err))
	}
}

// stopShards stops every shard still open, all at once (each consumer
// drains for a round trip or more; one after the other, 8 shards took
// more than a second of every stop).
func (w *Writer) stopShards() {
	var wg sync.WaitGroup
	for _, s := range w.Shards() {
		wg.Go(func() { w.stopShard(s) })
	}
	wg.Wait()
}

func (w *Writer) addErr(err error) {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	w.errs = append(w.errs, err)
}

// newLeases makes the lease manager of a writer that shares the shards.
func (w *Writer) newLeases() (*leases.Manager, error) {
	url := strings.TrimRight(w.opts.URL(), "/")
	if url == "" {
		return nil, errors.New("cannot share series shards: no URL to advertise")
	}
	value, err := json.Marshal(wire.SeriesOwner{Node: w.opts.NodeID, URL: url})
	if err != nil {
		return nil, fmt.Errorf("cannot create series writer: %w", err)
	}
	changes := func(change string) func() {
		c := w.opts.Metrics.GetOrCreateCounter(`wharf_monitor_shard_lease_changes_total{change="` + change + `"}`)
		return c.Inc
	}
	inc := map[string]func(){}
	for _, c := range []string{leases.Taken, leases.Released, leases.Stopped, leases.Lost} {
		inc[c] = changes(c)
	}
	return leases.New(leases.Options{
		Store: w.opts.Store, LeasePrefix: wire.SeriesLeasePrefix, MemberPrefix: wire.SeriesMemberPrefix,
		NodeID: w.opts.NodeID, Value: value, Shards: w.opts.Shards, TTL: w.opts.LeaseTTL,
		Prefer: w.prefer,
		Start: func(ctx context.Context, s int) error {
			sr, err := w.openShard(s)
			if err != nil {
				return err
			}
			if err := w.runShard(ctx, s, sr); err != nil {
				w.closeShard(s, sr)
				return err
			}
			w.mu.Lock()
			w.shards[s] = sr
			w.mu.Unlock()
			return nil
		},
		Stop: w.stopShard,
		OnChange: func(change string, s int) {
			inc[change]()
			if change == leases.Released {
				w.forget(s)
			}
		},
		Logger: w.log.With("leases", "series"),
	})
}

// forget makes shard s, handed to another writer, the least preferred
// here (its data stays on disk, but it is not this node's any more).
func (w *Writer) forget(s int) {
	if err := os.Remove(filepath.Join(w.opts.Dir, strconv.Itoa(s), sinceFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		w.log.Warn("cannot forget series shard", "shard", s, "err", err)
	}
}

// prefer ranks shard s for the leases: stored here longest first, never
// stored here last.
func (w *Writer) prefer(s int) int64 {
	b, err := os.ReadFile(filepath.Join(w.opts.Dir, strconv.Itoa(s), sinceFile))
	if err != nil {
		return math.MinInt64
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return math.MinInt64
	}
	return -n
}

// Run consumes and checkpoints until ctx ends, then stops the consumers
// (their handlers finish), the shard writers, and closes the stores. With
// Store it holds its share of the shards' leases meanwhile and releases
// them at the end.
func (w *Writer) Run(ctx context.Context) error {
	defer context.AfterFunc(ctx, w.guard.release)() // batches held for disk space go back to NSQ
	if w.opts.Store != nil {
		m, err := w.newLeases()
		if err != nil {
			return errors.Join(err, w.Close())
		}
		err = m.Run(ctx) // stops every shard before it returns
		return errors.Join(err, w.Close())
	}
	w.mu.RLock()
	var errs []error
	for s, sr := range w.shards {
		if err := w.runShard(ctx, s, sr); err != nil {
			errs = append(errs, err)
		}
	}
	w.mu.RUnlock()
	<-ctx.Done()
	w.stopShards()
	return errors.Join(append(errs, w.Close())...)
}

// Close stops and closes the shards still open (after Run, or when Run
// was never called) and returns what went wrong while stopping shards.
func (w *Writer) Close() error {
	w.closeOnce.Do(func() {
		w.stopShards()
		w.errMu.Lock()
		w.closeErr = errors.Join(w.errs...)
		w.errMu.Unlock()
	})
	return w.closeErr
}

// Shards returns the shards stored on this node now, sorted.
func (w *Writer) Shards() []int {
	w.mu.RLock()
	out := make([]int, 0, len(w.shards))
	for s := range w.shards {
		out = append(out, s)
	}
	w.mu.RUnlock()
	slices.Sort(out)
	return out
}

// NodeID returns the name of this node in leases and answers.
func (w *Writer) NodeID() string { return w.opts.NodeID }

// Shared reports whether the writer shares the shards with other writers
// through leases (else it stores its Owned shards alone).
func (w *Writer) Shared() bool { return w.opts.Store != nil }

// withStore runs fn on the store of shard s while no stop can close it;
// false when this node does not store s now.
func (w *Writer) withStore(s int, fn func(*seriesstore.Store) error) (bool, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	sr := w.shards[s]
	if sr == nil {
		return false, nil
	}
	return true, fn(sr.store)
}

// deferredBound is the bound of waiting points of the shard at phase (in
// (0, 1)): from half the default to the default.
func deferredBound(phase float64) int {
	return int(float64(seriesstore.DefaultMaxDeferredPoints) * (1 + phase) / 2)
}
