package judge

import (
	"context"
	"fmt"

	"github.com/wharfhq/wharf/internal/bus"
	mjudge "github.com/wharfhq/wharf/monitoring/judge"
	"github.com/wharfhq/wharf/monitoring/strategy"
)

// handle judges one batch of shard's points. A batch that cannot be
// decoded is an error (the consumer dead-letters it after its attempts);
// a store failure is an error too, so nsqd redelivers the batch,
// and points already judged are skipped as not newer than the state's.
func (j *Judge) handle(ctx context.Context, shard int, body []byte) error {
	return j.handleMessage(ctx, shard, body, nil)
}

// handleMessage is handle for a batch delivered as m, which is held until
// the states it changed are flushed (m nil: flushed before returning).
func (j *Judge) handleMessage(ctx context.Context, shard int, body []byte, m *bus.Message) error {
	if shard < 0 || shard >= len(j.series) {
		return fmt.Errorf("cannot judge shard %d: the judge has %d shards", shard, len(j.series))
	}
	idx := j.series[shard]
	idx.mu.Lock()
	defer idx.mu.Unlock()
	pts, err := idx.decode(body) // series.go
	if err != nil {
		return fmt.Errorf("cannot decode point batch: %w", err)
	}
	j.stats.points.Add(len(pts))
	strats, gen := j.strat.current()
	items := idx.items[:0]
	for _, s := range idx.group(pts, j.opts.MaxCachedStates) { // series.go
		ms := s.match(strats, gen)
		for k := range ms {
			mt := &ms[k]
			items = append(items, judgeItem{key: mt.key, lock: mt.lock, c: mt.c, series: idx.points(s), slot: mt, tags: s.tagsEnc})
		}
	}
	idx.items = items
	defer clear(items)                                       // nothing of the batch is kept past it
	return j.judgeBatch(ctx, shard, items, gen, m, len(pts)) // batch.go
}

// counterType maps the push format's counterType to the judge's.
func counterType(s string) mjudge.CounterType {
	switch s {
	case "COUNTER":
		return mjudge.Counter
	case "DERIVE":
		return mjudge.Derive
	}
	return mjudge.Gauge
}

// forEachState calls f with the key and record of every stored state of
// strategy c whose series is in a shard this judge holds.
func (j *Judge) forEachState(ctx context.Context, c *strategy.Compiled, f func(key string, shard int) error) error {
	prefix := StatePrefix + c.Prefix + "_" + c.Source.ID + "_"
	return j.scan(ctx, prefix, func(key string, rec record) error {
		if !j.holds(rec.Shard) {
			return nil
		}
		return f(key, rec.Shard)
	})
}
