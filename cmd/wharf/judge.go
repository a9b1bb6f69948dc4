package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wharfhq/wharf/internal/logging"
	"github.com/wharfhq/wharf/internal/nodes"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/logstore"
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
	states, closeStates, err := w.openJudgeStates()
	if err != nil {
		return nil, err
	}
	j, err := judge.New(judge.Options{
		Store: w.st, StateStore: states, Publisher: w.producer, NSQDAddrs: nsqd, LookupdHTTPAddrs: lookupd, Security: w.nsqSec,
		Shards: w.opts.Monitoring.Shards, NodeID: nodes.NewID(host, w.ops.Addr().String()),
		// MaxInFlight: the judge's own default (1024), not nsq.max_in_flight:
		// it holds batches until their states are flushed (write-behind).
		Logger: log, Metrics: w.metrics,
	})
	if err != nil {
		_ = closeStates()
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
	return func(ctx context.Context) error {
		err := bg.stop(ctx)
		if cerr := closeStates(); cerr != nil && err == nil {
			err = cerr
		}
		return err
	}, nil
}

// openJudgeStates opens the judge's state store: in serve a log store of
// its own beside store.db (store/logstore: a map in memory and an
// append-only file, no B-tree and no change log; the states are the
// judge's high-rate writes and nobody watches them); in the judge role
// the shared store (Redis), so that another judge can take a shard over.
func (w *wiring) openJudgeStates() (store.Store, func() error, error) {
	if !w.role.embedded {
		return w.st, func() error { return nil }, nil
	}
	st, err := logstore.Open(logstore.Options{Path: filepath.Join(w.opts.DataDir, "judge-states.log"), Logger: w.log})
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open the judge's state store in %s: %w", w.opts.DataDir, err)
	}
	return st, st.Close, nil
}
