package monitor

import (
	"context"
	"errors"
	"fmt"

	"github.com/wharfhq/wharf/internal/feed"
)

// Push takes points from a part of the same process (the gateway's own
// metrics) as a push over HTTP would, without the HTTP: the same
// validation, shards, topics and back-pressure. It implements feed.Sink.
func (f *Function) Push(ctx context.Context, points []feed.Point) error {
	if _, refuse := f.opts.Backlog.refuse(); refuse {
		f.stats.rejectedBacklog.Inc()
		return errors.New("cannot push own metrics: the metric consumers are behind (backlog)")
	}
	b := f.buffers()
	defer f.release(b)
	_, invalid, valid, err := f.accept(b, feed.AppendJSON(nil, points))
	if err != nil {
		return fmt.Errorf("cannot push own metrics: %w", err)
	}
	if valid > 0 {
		if q := f.queued.Add(int64(valid)); q > f.opts.MaxQueued {
			f.queued.Add(-int64(valid))
			f.stats.rejectedBusy.Inc()
			return errors.New("cannot push own metrics: too many points queued")
		}
		err := f.publish(ctx, b)
		f.queued.Add(-int64(valid))
		if err != nil {
			b.used = nil // a timed-out publish may still be writing them
			f.stats.rejectedBus.Inc()
			return fmt.Errorf("cannot push own metrics: %w", err)
		}
		f.stats.published.Add(valid)
	}
	if invalid > 0 {
		return fmt.Errorf("cannot push own metrics: %d of %d points invalid", invalid, len(points))
	}
	return nil
}
