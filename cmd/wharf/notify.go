package main

import (
	"context"
	"os"

	"github.com/wharfhq/wharf/internal/logging"
	"github.com/wharfhq/wharf/internal/nodes"
	"github.com/wharfhq/wharf/runner/notify"
)

// startNotifyComponent runs the notify runner (runner/notify): in serve on
// the embedded nsqd and buntdb, in the notify role on the configured nsqd
// or nsqlookupd and Redis, where any number of notify nodes share the
// channel notify and the receiver queues (by leases in the store).
func (w *wiring) startNotifyComponent(ctx context.Context) (stopFunc, error) {
	nsqd, lookupd := w.consumeFrom(), w.opts.NSQ.Lookupd
	if w.role.embedded {
		nsqd, lookupd = []string{w.nsqd.TCPAddr()}, nil
	}
	host, _ := os.Hostname()
	log := logging.Component(w.log, "notify")
	eg, err := w.egressPolicy()
	if err != nil {
		return nil, err
	}
	owedAfter := w.opts.Notify.OwedAfter
	if owedAfter == 0 {
		owedAfter = -1 // off
	}
	n, err := notify.New(notify.Options{Egress: eg, Publisher: w.producer, OwedAfter: owedAfter,
		Store: w.st, NSQDAddrs: nsqd, LookupdHTTPAddrs: lookupd, Security: w.nsqSec,
		NodeID: nodes.NewID(host, w.ops.Addr().String()), MaxInFlight: w.opts.NSQ.MaxInFlight,
		RetryBudget: w.opts.Notify.RetryBudget, RetryMax: w.opts.Notify.RetryMax, CombineInterval: w.opts.Notify.CombineInterval, ExternalURL: w.opts.Notify.ExternalURL, PublicURL: w.opts.Notify.PublicURL,
		Logger: log, Metrics: w.metrics,
	})
	if err != nil {
		return nil, err
	}
	bg := runBackground(ctx, func(ctx context.Context) error {
		if err := n.Run(ctx); err != nil {
			log.Error("notify stopped", "err", err)
			w.fail(err)
			return err
		}
		return nil
	})
	return bg.stop, nil
}
