package nodes

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/wharfhq/wharf/internal/store"
)

// List returns the live node records in id order. A record that does not
// decode or validate (written by something else) is left out and logged,
// so one bad key does not hide the others.
func List(ctx context.Context, st store.Store, log *slog.Logger) ([]Record, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	out := []Record{}
	for e, err := range store.Entries(ctx, st, Prefix, store.ScanOptions{PageTimeout: 5 * time.Second}) {
		if err != nil {
			return nil, fmt.Errorf("cannot list the nodes: %w", err)
		}
		var r Record
		if err := json.Unmarshal(e.Value, &r); err != nil {
			log.Warn("skipping a node record that does not decode", "key", e.Key, "err", err)
			continue
		}
		if err := r.Validate(); err != nil || Key(r.ID) != e.Key {
			log.Warn("skipping an invalid node record", "key", e.Key, "err", err)
			continue
		}
		out = append(out, r)
	}
	return out, nil
}
