package feed

import (
	"context"
	"log/slog"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Collector returns the points of the step that ends at now (a multiple
// of the step); nil: nothing to push this step.
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
	// Metrics gets wharf_feed_pushes_total and wharf_feed_points_total
	// labelled source=Source; nil keeps them private.
	Metrics *metrics.Set
	Source  string
}

// Run collects and pushes at every multiple of Step of the wall clock
// (for a 30s step: :00 and :30 of each minute) until ctx ends, passing
// Collect that boundary, so each push covers the step that ends at its
// timestamp, whatever the node's start time.
func Run(ctx context.Context, o Options) {
	if o.Timeout <= 0 {
		o.Timeout = o.Step
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := newCounters(o.Metrics, o.Source)
	next := nextBoundary(time.Now(), o.Step)
	t := time.NewTimer(time.Until(next))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			points := o.Collect(next)
			next = nextBoundary(time.Now(), o.Step)
			t.Reset(time.Until(next))
			if len(points) == 0 {
				continue
			}
			pctx, cancel := context.WithTimeout(ctx, o.Timeout)
			switch err := o.Sink.Push(pctx, points); {
			case err == nil:
				c.ok.Inc()
				c.points.Add(len(points))
			case ctx.Err() == nil:
				c.failed.Inc()
				log.Warn("cannot feed own metrics", "points", len(points), "err", err)
			}
			cancel()
		}
	}
}

// nextBoundary is the first multiple of step after now.
func nextBoundary(now time.Time, step time.Duration) time.Time {
	return now.Truncate(step).Add(step)
}
