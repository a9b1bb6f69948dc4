package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/metric"
)

// WriterOptions configure the series writer.
type WriterOptions struct {
	// Dir holds one series store per owned shard, in Dir/<shard>. Required.
	Dir string
	// Shards is the total number of shards (the push side's Options.Shards).
	// Default wire.DefaultShards.
	Shards int
	// Owned are the shards this node stores when it does not share them
	// through leases (Store nil); nil: all of them (wharf serve).
	Owned []int
	// Store, when set, makes the writer share the shards with the other
	// writers through leases (wire.SeriesLeasePrefix): it stores an even
	// share of them, preferring shards whose store is already in Dir, and
	// takes a dead writer's shards over. Owned is then ignored.
	Store store.Store
	// NodeID names this node in leases and in query answers. Default hostname-pid.
	NodeID string
	// URL returns the base URL (the gateway's) other nodes forward queries
	// of this node's shards to; Run calls it once, when it starts (after
	// the gateway bound its port). Required with Store.
	URL func() string
	// LeaseTTL is the lease TTL with Store. Default 9s: a dead writer's
	// shards are taken over within about 12 s.
	LeaseTTL time.Duration
	// NSQDAddrs or LookupdHTTPAddrs find the shards' topics. One is required.
	NSQDAddrs, LookupdHTTPAddrs []string
	// Security secures the nsqd connections; nil: plain.
	Security *bus.Security
	// MaxSeries bounds the series of each shard's store (0: no bound);
	// points that would create more are counted as over_limit.
	MaxSeries int
	// MaxInFlight is the number of batches a shard's consumer holds at once. Default 16.
	MaxInFlight int
	// SyncInterval: a shard's write-ahead log is fsynced at most this
	// often (group fsync, commit.go); the batches written meanwhile are
	// acknowledged after the fsync that covers them. Sooner when every
	// batch the consumer may hold (MaxInFlight) waits for it. 0: as soon
	// as the previous fsync is done, after every group commit.
	SyncInterval time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
	// Metrics gets wharf_monitor_series_points_total, the shard gauges and
	// the consumers' counters; nil: a private set.
	Metrics *metrics.Set
	// Disk is the free-disk guard of Dir (diskguard.go); zero: none.
	Disk DiskGuardOptions
}

// Writer consumes the series topics of its shards and writes the points
// into one seriesstore per shard. Queries read the same stores. The
// batches a shard's consumer holds at once are written together (group
// commit) and acknowledged after the next fsync of the store's log, one
// every SyncInterval at most (commit.go).
type Writer struct {
	opts  WriterOptions
	log   *slog.Logger
	stats writerCounters
	guard *diskGuard

	// mu guards shards; a query holds it for reading while it reads a
	// store, so a shard stops only once no query reads it.
	mu     sync.RWMutex
	shards map[int]*shardRun

	// reqs recycles the write requests of handled messages (writereq.go).
	reqs sync.Pool

	closeOnce sync.Once
	closeErr  error
	errMu     sync.Mutex
	errs      []error // of stopped shards
}

// NewWriter checks opts; without Store it opens (and recovers) the stores
// of the owned shards and prepares their consumers. Run starts them.
func NewWriter(opts WriterOptions) (*Writer, error) {
	if opts.Dir == "" {
		return nil, errors.New("cannot create series writer: Dir is required")
	}
	if opts.Shards == 0 {
		opts.Shards = wire.DefaultShards
	}
	if opts.Shards < 1 || opts.Shards > wire.MaxShards {
		return nil, fmt.Errorf("cannot create series writer: shards must be 1..%d, got %d", wire.MaxShards, opts.Shards)
	}
	if opts.Owned == nil || opts.Store != nil {
		opts.Owned = nil
		for i := range opts.Shards {
			opts.Owned = append(opts.Owned, i)
		}
	}
	for _, s := range opts.Owned {
		if s < 0 || s >= opts.Shards {
			return nil, fmt.Errorf("cannot create series writer: owned shard %d is not in 0..%d", s, opts.Shards-1)
		}
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 16
	}
	if opts.SyncInterval < 0 {
		return nil, fmt.Errorf("cannot create series writer: SyncInterval must be 0 or positive, got %s", opts.SyncInterval)
	}
	if opts.NodeID == "" {
		host, _ := os.Hostname()
		opts.NodeID = host + "-" + strconv.Itoa(os.Getpid())
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.NewSet()
	}
	w := &Writer{opts: opts, log: opts.Logger, shards: map[int]*shardRun{}, stats: newWriterCounters(opts.Metrics)}
	opts.Metrics.GetOrCreateGauge("wharf_monitor_shards_owned", func() float64 { return float64(len(w.Shards())) })
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create series dir: %w", err)
	}
	w.guard = newDiskGuard(opts.Dir, opts.Disk, opts.Logger, opts.Metrics)
	if opts.Store != nil {
		if opts.URL == nil {
			return nil, errors.New("cannot create series writer: URL is required to share shards")
		}
		return w, nil
	}
	for _, s := range opts.Owned {
		sr, err := w.openShard(s)
		if err != nil {
			_ = w.Close()
			return nil, err
		}
		w.shards[s] = sr
	}
	return w, nil
}

// maxGroupPoints bounds the points of one group commit.
const maxGroupPoints = 50_000

// handler queues one batch for the shard's writer and waits until it is
// durable. A batch that cannot be decoded fails (and is dead-lettered
// after its attempts); a store error requeues it (points already applied
// are stale the second time).
func (w *Writer) handler(shard int, queue chan<- *writeReq) bus.HandlerFunc {
	return func(ctx context.Context, m *bus.Message) error {
		if err := w.guard.wait(ctx, m); err != nil { // holds the batch while the disk is low
			return fmt.Errorf("cannot write series shard %d: %w", shard, err)
		}
		req := w.newReq()
		// The points' strings may be views of m.Body: fill copies the
		// keys before the handler returns.
		points, err := metric.DecodeBatchViews(req.decoded, m.Body)
		if err != nil {
			w.releaseReq(req) // never queued
			return fmt.Errorf("cannot write series shard %d: %w", shard, err)
		}
		req.decoded = points
		req.fill(points)
		select {
		case queue <- req:
		case <-ctx.Done():
			return fmt.Errorf("cannot write series shard %d: %w", shard, ctx.Err())
		}
		select {
		case err := <-req.done:
			w.releaseReq(req) // the commit is done with it
			return err
		case <-ctx.Done(): // the commit may still read req: not reused
			return fmt.Errorf("cannot write series shard %d: %w", shard, ctx.Err())
		}
	}
}
