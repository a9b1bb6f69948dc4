package judge

import (
	"context"
	"errors"

	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/event"
)

// recordProblems counts events just published and updates the open-problems view (wire.ProblemPrefix) with
// events just published: a PROBLEM or NODATA is stored as the
// series' open problem, an OK removes it. The view is for people (the
// strategies API shows it); a failure here is logged and does not hold up
// the events, which the alarms topic already has.
func (j *Judge) recordProblems(ctx context.Context, pending [][]byte) {
	for _, b := range pending {
		ev, err := event.Unmarshal(b)
		if err != nil {
			continue
		}
		j.stats.published(ev)
		if ev.StrategyID == "" {
			continue
		}
		key := wire.ProblemKey(ev.StrategyID, ev.ID)
		if !store.ValidKey(key) {
			continue
		}
		if ev.Status == event.OK {
			_, err = j.opts.Store.Delete(ctx, key)
			if errors.Is(err, store.ErrNotFound) {
				err = nil
			}
		} else {
			_, err = j.opts.Store.Put(ctx, key, b, store.PutOptions{})
		}
		if err != nil {
			j.log.Warn("cannot update the open-problems view", "event", ev.ID, "err", err)
		}
	}
}
