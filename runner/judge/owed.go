package judge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	awire "github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/alarm"
	"github.com/wharfhq/wharf/monitoring/event"
)

// oweTimeout bounds the write of the owed entries of one hand-over.
const oweTimeout = 5 * time.Second

// owe records the events about to be published as owed to notify
// (awire.OwedPrefix, in the shared store) before handOver publishes them:
// nsqd may lose a message it already took off its queue (killed while the
// message is in flight to notify), and notify's reconciler publishes an
// owed event again until notify recorded it. An entry that exists already
// (a hand-over repeated after a failure) is kept as it is. When the
// entries cannot be written the events are not published and stay in the
// record, as when nsqd refuses them.
func (j *Judge) owe(ctx context.Context, pending [][]byte) error {
	now := j.opts.Now()
	swaps := make([]store.Swap, 0, len(pending))
	for _, b := range pending {
		// Only the key's fields are read: what does not decode is not
		// owed, and is published as before (notify dead-letters it).
		var ev event.Event
		if json.Unmarshal(b, &ev) != nil || ev.ID == "" {
			continue
		}
		val, err := awire.EncodeOwed(b, now, 0)
		if err != nil {
			return err
		}
		swaps = append(swaps, store.Swap{Key: awire.OwedKey(ev.ID, alarm.StepKey(ev)), Value: val, Opts: store.PutOptions{TTL: awire.OwedTTL}})
	}
	if len(swaps) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, oweTimeout)
	defer cancel()
	res, err := store.CompareAndSwapMany(ctx, j.opts.Store, swaps)
	if err != nil {
		return fmt.Errorf("cannot write owed events: %w", err)
	}
	for _, r := range res {
		if r.Err != nil && !errors.Is(r.Err, store.ErrConflict) {
			return fmt.Errorf("cannot write owed events: %w", r.Err)
		}
	}
	return nil
}
