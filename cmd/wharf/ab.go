package main

import (
	"context"
	"errors"
	"time"

	"github.com/wharfhq/wharf/functions/ab"
	"github.com/wharfhq/wharf/internal/logging"
	"github.com/wharfhq/wharf/runner/abagg"
)

// startABComponent registers the A/B function on every node that serves
// HTTP (decisions come from each node's own snapshot of the store) and
// runs its snapshot follower and exposure flusher; serve and functions
// nodes also run the aggregator of tracked events.
func (w *wiring) startABComponent(ctx context.Context) (stopFunc, error) {
	if w.st == nil || w.producer == nil {
		return nil, errors.New("cannot start the ab function: it needs the store and the nsqd producer")
	}
	log := logging.Component(w.log, "ab")
	fn, err := ab.New(ab.Options{Store: w.st, Publisher: w.producer, Metrics: w.metrics, Logger: log})
	if err != nil {
		return nil, err
	}
	if err := w.mux.Register(fn); err != nil {
		return nil, err
	}
	bgs := []*background{runBackground(ctx, fn.Run)}
	// Decisions wait for the first snapshot, so a start does not answer
	// "no experiments" for a moment.
	select {
	case <-fn.Ready():
	case <-time.After(10 * time.Second):
		log.Warn("the experiments are not loaded yet; decisions answer none until they are")
	}
	if w.role.embedded || w.role.name == "functions" {
		nsqd, lookupd := w.consumeFrom(), w.opts.NSQ.Lookupd
		if w.role.embedded {
			nsqd, lookupd = []string{w.nsqd.TCPAddr()}, nil
		}
		agg, err := abagg.New(abagg.Options{Store: w.st, NSQDAddrs: nsqd, LookupdHTTPAddrs: lookupd, Security: w.nsqSec,
			MaxInFlight: w.opts.NSQ.MaxInFlight, Metrics: w.metrics, Logger: logging.Component(w.log, "abagg")})
		if err != nil {
			_ = bgs[0].stop(ctx)
			return nil, err
		}
		bgs = append(bgs, runBackground(ctx, agg.Run))
	}
	return func(ctx context.Context) error {
		var errs []error
		for _, b := range bgs {
			errs = append(errs, b.stop(ctx))
		}
		return errors.Join(errs...)
	}, nil
}
