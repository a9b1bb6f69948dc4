package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/logging"
	"github.com/wharfhq/wharf/internal/store"
)

// startMonitor registers the monitor function (metric push, query,
// series index, strategies in st) on mux and runs its series writer, which owns every shard
// (serve), and its backlog watch (nsqd stats read at nsqdHTTP, or at the
// nsqds lookupd knows), until the returned background is stopped.
func (b *base) startMonitor(ctx context.Context, mux *fnapi.Mux, producer *bus.Producer, st store.Store, nsqd, lookupd, nsqdHTTP []string) (*background, error) {
	o := b.opts.Monitoring
	dir := o.SeriesDir
	if dir == "" {
		dir = filepath.Join(b.opts.DataDir, "series")
	}
	log := logging.Component(b.log, "monitor")
	perShard := 0
	if o.MaxSeries > 0 {
		perShard = max(1, o.MaxSeries*5/4/o.Shards) // shards fill unevenly: 25 % slack
	}
	floorBytes, floorPercent, err := config.ParseFreeDisk(o.MinFreeDisk) // validated with the options
	if err != nil {
		return nil, fmt.Errorf("monitoring.min_free_disk: %w", err)
	}
	w, err := monitor.NewWriter(monitor.WriterOptions{Dir: dir, Shards: o.Shards, MaxSeries: perShard, NSQDAddrs: nsqd, LookupdHTTPAddrs: lookupd,
		Security: b.nsqSec, MaxInFlight: b.opts.NSQ.MaxInFlight, Logger: log, Metrics: b.metrics,
		Disk: monitor.DiskGuardOptions{Floor: monitor.DiskFloor{Bytes: floorBytes, Percent: floorPercent}}})
	if err != nil {
		return nil, err
	}
	backlog, err := b.backlogWatch(log, lookupd, nsqdHTTP)
	if err != nil {
		_ = w.Close()
		return nil, err
	}
	fn, err := monitor.New(monitor.Options{Publisher: producer, Shards: o.Shards, Replicas: o.Replicas,
		MinStep: int64(o.MinStep / time.Second), MaxQueued: int64(o.MaxQueued), RetryAfter: o.RetryAfter,
		Backlog: backlog, Series: w, Store: st, Logger: log, Metrics: b.metrics})
	if err != nil {
		_ = w.Close()
		return nil, err
	}
	if err := mux.Register(fn); err != nil {
		_ = w.Close()
		return nil, err
	}
	b.feed = fn // the gateway, started after, feeds its own metrics in-process
	return runBackground(ctx, func(ctx context.Context) error {
		if backlog != nil {
			watch := runBackground(ctx, backlog.Run)
			defer func() { _ = watch.stop(context.Background()) }()
		}
		if err := w.Run(ctx); err != nil {
			log.Error("series writer stopped", "err", err)
			return err
		}
		return nil
	}), nil
}

// backlogWatch returns the monitor's backlog watch (monitoring.max_backlog),
// nil when it is off or no nsqd stats address is known (logged).
func (b *base) backlogWatch(log *slog.Logger, lookupd, nsqdHTTP []string) (*monitor.Backlog, error) {
	o := b.opts.Monitoring
	if o.MaxBacklog == 0 {
		return nil, nil
	}
	if len(lookupd) == 0 && len(nsqdHTTP) == 0 {
		log.Warn("no nsqd stats address (nsq.lookupd or nsq.nsqd_http): pushes are not refused when the series writer or the judge fall behind")
		return nil, nil
	}
	backlog, err := monitor.NewBacklog(monitor.BacklogOptions{NSQDHTTPAddrs: nsqdHTTP, LookupdHTTPAddrs: lookupd, Shards: o.Shards,
		MaxPoints: int64(o.MaxBacklog), RetryAfter: o.RetryAfter, Logger: log, Metrics: b.metrics})
	if err != nil {
		return nil, fmt.Errorf("monitoring.max_backlog: %w", err)
	}
	return backlog, nil
}
