package judge

import (
	"context"

	"github.com/wharfhq/wharf/internal/store"
)

// PendingEvents counts the events decided but not yet published in every
// stored state.
func PendingEvents(ctx context.Context, st store.Store) (int, error) {
	n := 0
	for e, err := range store.Entries(ctx, st, StatePrefix, store.ScanOptions{}) {
		if err != nil {
			return 0, err
		}
		if rec, err := decodeRecord(e.Value); err == nil {
			n += len(rec.Pending)
		}
	}
	return n, nil
}

// PutPending stores a state record of shard holding events (JSON bodies)
// decided but not published, as a judge that died in between leaves it.
func PutPending(ctx context.Context, st store.Store, eventID string, shard int, events ...[]byte) error {
	b, err := appendRecord(nil, &record{Shard: shard, Pending: events})
	if err != nil {
		return err
	}
	_, err = st.Put(ctx, StatePrefix+eventID, b, store.PutOptions{})
	return err
}
