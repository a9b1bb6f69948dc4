package judge

import (
	"context"
	"fmt"
	"slices"

	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/monitoring/event"
	mjudge "github.com/wharfhq/wharf/monitoring/judge"
	"github.com/wharfhq/wharf/monitoring/metric"
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
	pts, err := metric.DecodeBatch(body)
	if err != nil {
		return fmt.Errorf("cannot decode point batch: %w", err)
	}
	j.stats.points.Add(len(pts))
	strats := j.strat.snapshot()
	var items []judgeItem
	groups, pks := groupSeries(pts)
	for g, series := range groups {
		p0 := &series[0]
		sum := ""
		for _, c := range strats {
			if !c.Match(p0.Endpoint, p0.Metric, p0.Tags) {
				continue
			}
			if sum == "" {
				sum = event.PKSum(pks[g])
			}
			items = append(items, judgeItem{key: StatePrefix + event.IDOfSum(c.Prefix, c.Source.ID, sum), c: c, series: series})
		}
	}
	return j.judgeBatch(ctx, shard, items, m, len(pts)) // batch.go
}

// groupSeries converts points to the judge's form and groups them by
// series, each group oldest first, and returns each group's PK. The
// points' tags are canonical (the monitor publishes them so), so the PK
// is event.PK of the group's endpoint, metric and tags.
func groupSeries(pts []metric.Point) ([][]mjudge.Point, []string) {
	idx := make(map[string]int, len(pts))
	out := make([][]mjudge.Point, 0, len(pts))
	pks := make([]string, 0, len(pts))
	for i := range pts {
		p := &pts[i]
		pk := p.PK()
		n, ok := idx[pk]
		if !ok {
			n = len(out)
			idx[pk] = n
			out = append(out, nil)
			pks = append(pks, pk)
		}
		var tags map[string]string
		if n2 := len(out[n]); n2 > 0 {
			tags = out[n][0].Tags // one map per series
		} else {
			tags = metric.ParseTags(p.Tags)
			if tags == nil {
				tags = map[string]string{}
			}
		}
		out[n] = append(out[n], mjudge.Point{
			Endpoint: p.Endpoint, Metric: p.Metric, Tags: tags,
			Timestamp: p.Time, Step: p.Step, Value: p.Value, Type: counterType(p.CounterType),
		})
	}
	for _, s := range out {
		slices.SortStableFunc(s, func(a, b mjudge.Point) int {
			return int(min(max(a.Timestamp-b.Timestamp, -1), 1))
		})
	}
	return out, pks
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
