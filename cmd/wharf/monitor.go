package main

import (
	"context"
	"fmt"
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
	backlog, stopBacklog, err := b.startBacklogWatch(ctx, log, lookupd, nsqdHTTP) // backlog.go
	if err != nil {
		_ = w.Close()
		return nil, err
	}
	fn, err := monitor.New(monitor.Options{Publisher: producer, Shards: o.Shards, Replicas: o.Replicas,
		MinStep: int64(o.MinStep / time.Second), MaxQueued: int64(o.MaxQueued), RetryAfter: o.RetryAfter,
		Backlog: backlog, Series: w, Store: st, Logger: log, Metrics: b.metrics})
	if err != nil {
		stopBacklog()
		_ = w.Close()
		return nil, err
	}
	if err := mux.Register(fn); err != nil {
		stopBacklog()
		_ = w.Close()
		return nil, err
	}
	b.feed = fn // the gateway, started after, feeds its own metrics in-process
	return runBackground(ctx, func(ctx context.Context) error {
		defer stopBacklog()
		if err := w.Run(ctx); err != nil {
			log.Error("series writer stopped", "err", err)
			return err
		}
		return nil
	}), nil
}
