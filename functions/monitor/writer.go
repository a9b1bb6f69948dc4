package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/monitoring/metric"
	"github.com/wharfhq/wharf/monitoring/seriesstore"
)

// WriterOptions configure the series writer.
type WriterOptions struct {
	// Dir holds one series store per owned shard, in Dir/<shard>. Required.
	Dir string
	// Shards is the total number of shards (the push side's Options.Shards).
	// Default wire.DefaultShards.
	Shards int
	// Owned are the shards this node stores; nil: all of them (wharf
	// serve). Several nodes split the shards by giving each its own list
	// (leases in the store that move shards between live nodes are next).
	Owned []int
	// NSQDAddrs or LookupdHTTPAddrs find the shards' topics. One is required.
	NSQDAddrs, LookupdHTTPAddrs []string
	// Security secures the nsqd connections; nil: plain.
	Security *bus.Security
	// MaxSeries bounds the series of each shard's store (0: no bound);
	// points that would create more are counted as over_limit.
	MaxSeries int
	// MaxInFlight is the number of batches a shard's consumer holds at once. Default 16.
	MaxInFlight int
	// Logger; nil discards.
	Logger *slog.Logger
	// Metrics gets wharf_monitor_series_points_total and the consumers' counters; nil: a private set.
	Metrics *metrics.Set
	// Disk is the free-disk guard of Dir (diskguard.go); zero: none.
	Disk DiskGuardOptions
}

// Writer consumes the series topics of its shards and writes the points
// into one seriesstore per shard. Queries read the same stores. The
// batches a shard's consumer holds at once are written together, with one
// fsync of the store's log (group commit), and acknowledged after it.
type Writer struct {
	opts      WriterOptions
	log       *slog.Logger
	stores    map[int]*seriesstore.Store
	queues    map[int]chan *writeReq
	consumers []*bus.Consumer
	stats     writerCounters
	guard     *diskGuard
	closeOnce sync.Once
	closeErr  error
}

// NewWriter opens (and recovers) the stores of the owned shards and
// prepares a consumer per shard; Run starts them.
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
	if opts.Owned == nil {
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
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.NewSet()
	}
	w := &Writer{opts: opts, log: opts.Logger, stores: map[int]*seriesstore.Store{}, queues: map[int]chan *writeReq{},
		stats: newWriterCounters(opts.Metrics)}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create series dir: %w", err)
	}
	w.guard = newDiskGuard(opts.Dir, opts.Disk, opts.Logger, opts.Metrics)
	for _, s := range opts.Owned {
		st, err := seriesstore.Open(seriesstore.Options{Dir: filepath.Join(opts.Dir, strconv.Itoa(s)), MaxSeries: opts.MaxSeries, Logger: opts.Logger})
		if err != nil {
			_ = w.Close()
			return nil, fmt.Errorf("cannot open series shard %d: %w", s, err)
		}
		w.stores[s] = st
		w.queues[s] = make(chan *writeReq, opts.MaxInFlight)
		c, err := bus.NewConsumer(bus.ConsumerOptions{
			Topic: wire.SeriesTopic(s), Channel: wire.SeriesChannel,
			NSQDAddrs: opts.NSQDAddrs, LookupdHTTPAddrs: opts.LookupdHTTPAddrs, Security: opts.Security,
			MaxInFlight: opts.MaxInFlight, Concurrency: opts.MaxInFlight,
			Handler: w.handler(s, w.queues[s]), Logger: opts.Logger, Metrics: opts.Metrics,
		})
		if err != nil {
			_ = w.Close()
			return nil, fmt.Errorf("cannot create series writer: %w", err)
		}
		w.consumers = append(w.consumers, c)
	}
	return w, nil
}

// writeReq is one message's points waiting for the shard's next write.
type writeReq struct {
	points []seriesstore.Point
	done   chan error
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
		points, err := metric.DecodeBatch(m.Body)
		if err != nil {
			return fmt.Errorf("cannot write series shard %d: %w", shard, err)
		}
		req := &writeReq{points: make([]seriesstore.Point, len(points)), done: make(chan error, 1)}
		for i := range points {
			p := &points[i]
			req.points[i] = seriesstore.Point{Key: p.PK(), Step: p.Step, CounterType: p.CounterType, Time: p.Time, Value: p.Value}
		}
		select {
		case queue <- req:
		case <-ctx.Done():
			return fmt.Errorf("cannot write series shard %d: %w", shard, ctx.Err())
		}
		select {
		case err := <-req.done:
			return err
		case <-ctx.Done():
			return fmt.Errorf("cannot write series shard %d: %w", shard, ctx.Err())
		}
	}
}

// commit writes the queued batches of a shard, every batch waiting at the
// time in one Update, until ctx ends.
func (w *Writer) commit(ctx context.Context, shard int, st *seriesstore.Store, queue <-chan *writeReq) {
	var group []*writeReq
	var points []seriesstore.Point
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-queue:
			group, points = append(group[:0], r), append(points[:0], r.points...)
		}
	more:
		for len(points) < maxGroupPoints {
			select {
			case r := <-queue:
				group, points = append(group, r), append(points, r.points...)
			default:
				break more
			}
		}
		res, err := st.Update(points)
		if err != nil {
			err = fmt.Errorf("cannot write series shard %d: %w", shard, err)
		} else {
			w.stats.accepted.Add(res.Accepted)
			w.stats.stale.Add(res.Stale)
			w.stats.skipped.Add(res.Skipped)
			w.stats.rejected.Add(res.Rejected)
			w.stats.overLimit.Add(res.OverLimit)
		}
		for _, r := range group {
			r.done <- err
		}
		clear(group)
		clear(points)
	}
}

// Run consumes and checkpoints until ctx ends, then stops the consumers
// (their handlers finish), the shard writers, and closes the stores.
func (w *Writer) Run(ctx context.Context) error {
	defer context.AfterFunc(ctx, w.guard.release)() // batches held for disk space go back to NSQ
	commitCtx, stopCommits := context.WithCancel(context.WithoutCancel(ctx))
	var commits sync.WaitGroup
	for s, st := range w.stores {
		commits.Add(1)
		go func() { defer commits.Done(); w.commit(commitCtx, s, st, w.queues[s]) }()
	}
	var wg sync.WaitGroup
	errs := make([]error, len(w.consumers)+len(w.stores))
	i := 0
	for _, c := range w.consumers {
		wg.Add(1)
		go func(i int) { defer wg.Done(); errs[i] = c.Run(ctx) }(i)
		i++
	}
	for _, st := range w.stores {
		wg.Add(1)
		go func(i int) { defer wg.Done(); errs[i] = st.Run(ctx) }(i)
		i++
	}
	wg.Wait()
	stopCommits()
	commits.Wait()
	return errors.Join(append(errs, w.Close())...)
}

// Close closes the stores (after Run, or when Run was never called).
func (w *Writer) Close() error {
	w.closeOnce.Do(func() {
		var errs []error
		for _, c := range w.consumers {
			_ = c.Stop() // idempotent; frees go-nsq's handlers when Run never ran
		}
		for s, st := range w.stores {
			if err := st.Close(); err != nil {
				errs = append(errs, fmt.Errorf("cannot close series shard %d: %w", s, err))
			}
		}
		w.closeErr = errors.Join(errs...)
	})
	return w.closeErr
}

// Shards returns the owned shards, sorted.
func (w *Writer) Shards() []int {
	out := make([]int, 0, len(w.stores))
	for s := range w.stores {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// store returns the store of a shard this node owns.
func (w *Writer) store(shard int) (*seriesstore.Store, bool) {
	st, ok := w.stores[shard]
	return st, ok
}
