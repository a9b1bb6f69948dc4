package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/wharfhq/wharf/functions/monitor"
)

// startBacklogWatch creates the monitor's backlog watch
// (monitoring.max_backlog) from the nsqds lookupd knows, else the nsqd HTTP
// addresses, and runs it until stop. The watch is nil (and stop a no-op)
// when the check is off or no stats address is known (logged).
func (b *base) startBacklogWatch(ctx context.Context, log *slog.Logger, lookupd, nsqdHTTP []string) (*monitor.Backlog, func(), error) {
	o := b.opts.Monitoring
	if o.MaxBacklog == 0 {
		return nil, func() {}, nil
	}
	if len(lookupd) == 0 && len(nsqdHTTP) == 0 {
		log.Warn("no nsqd stats address (nsq.lookupd or nsq.nsqd_http): pushes are not refused when the series writer or the judge fall behind")
		return nil, func() {}, nil
	}
	backlog, err := monitor.NewBacklog(monitor.BacklogOptions{NSQDHTTPAddrs: nsqdHTTP, LookupdHTTPAddrs: lookupd, Shards: o.Shards,
		MaxPoints: int64(o.MaxBacklog), RetryAfter: o.RetryAfter, Logger: log, Metrics: b.metrics})
	if err != nil {
		return nil, nil, fmt.Errorf("monitoring.max_backlog: %w", err)
	}
	watch := runBackground(ctx, backlog.Run)
	return backlog, func() { _ = watch.stop(context.Background()) }, nil
}
