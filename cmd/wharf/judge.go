package main

import (
	"context"
	"os"

	"github.com/wharfhq/wharf/internal/logging"
	"github.com/wharfhq/wharf/internal/nodes"
	"github.com/wharfhq/wharf/runner/judge"
)

// startJudgeComponent runs the alarm judge (runner/judge): in serve on the
// embedded nsqd, where it is the only judge and holds every shard; in the
// judge role on the configured nsqd or nsqlookupd, sharing the shards
// with the other judges through leases in Redis.
func (w *wiring) startJudgeComponent(ctx context.Context) (stopFunc, error) {
	nsqd, lookupd := w.consumeFrom(), w.opts.NSQ.Lookupd
	if w.role.embedded {
		nsqd, lookupd = []string{w.nsqd.TCPAddr()}, nil
	}
	host, _ := os.Hostname()
	log := logging.Component(w.log, "judge")
	j, err := judge.New(judge.Options{
		Store: w.st, Publisher: w.producer, NSQDAddrs: nsqd, LookupdHTTPAddrs: lookupd, Security: w.nsqSec,
		Shards: w.opts.Monitoring.Shards, NodeID: nodes.NewID(host, w.ops.Addr().String()),
		// MaxInFlight: the judge's own default (1024), not nsq.max_in_flight:
		// it holds batches until their states are flushed (write-behind).
		Logger: log, Metrics: w.metrics,
	})
	if err != nil {
		return nil, err
	}
	bg := runBackground(ctx, func(ctx context.Context) error {
		if err := j.Run(ctx); err != nil {
			log.Error("judge stopped", "err", err)
			w.fail(err)
			return err
		}
		return nil
	})
	return bg.stop, nil
}
