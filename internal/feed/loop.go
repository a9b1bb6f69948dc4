package feed

import (
	"context"
	"log/slog"
	"time"
)

// Collector returns the points of the step that ends at now; nil: nothing
// to push this step.
type Collector func(now time.Time) []Point

// Options configure Run.
type Options struct {
	// Step is how often points are collected and pushed. Required.
	Step time.Duration
	// Collect gathers a step's points. Required.
	Collect Collector
	// Sink takes them. Required.
	Sink Sink
	// Timeout bounds one push; default Step.
	Timeout time.Duration
	// Logger; nil discards. A failed push is logged and not retried: the
	// next step's points follow.
	Logger *slog.Logger
}

// Run collects and pushes every Step until ctx ends. The first collection
// is one Step after the start.
func Run(ctx context.Context, o Options) {
	if o.Timeout <= 0 {
		o.Timeout = o.Step
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(o.Step)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			points := o.Collect(now)
			if len(points) == 0 {
				continue
			}
			pctx, cancel := context.WithTimeout(ctx, o.Timeout)
			if err := o.Sink.Push(pctx, points); err != nil && ctx.Err() == nil {
				log.Warn("cannot feed own metrics", "points", len(points), "err", err)
			}
			cancel()
		}
	}
}
