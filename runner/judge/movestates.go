package judge

import (
	"context"
	"errors"
	"fmt"

	"github.com/wharfhq/wharf/internal/store"
)

// moveStates moves the states kept in Store (by a judge before StateStore
// existed) to StateStore: each is created there unless it already is,
// then deleted from Store at the version read. A crash in between moves
// the rest on the next start; a state already moved is only deleted.
func (j *Judge) moveStates(ctx context.Context) error {
	if j.opts.StateStore == j.opts.Store {
		return nil
	}
	n := 0
	for e, err := range store.Entries(ctx, j.opts.Store, StatePrefix, store.ScanOptions{}) {
		if err != nil {
			return fmt.Errorf("cannot list judge states to move: %w", err)
		}
		_, err := j.opts.StateStore.CompareAndSwap(ctx, e.Key, 0, e.Value, store.PutOptions{})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("cannot move judge state %s: %w", e.Key, err)
		}
		if _, err := j.opts.Store.CompareAndDelete(ctx, e.Key, e.Version); err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("cannot delete moved judge state %s: %w", e.Key, err)
		}
		n++
	}
	if n > 0 {
		j.log.Info("moved judge states to the state store", "states", n)
	}
	return nil
}
