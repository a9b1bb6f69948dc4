package buntstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/tidwall/buntdb"

	"github.com/wharfhq/wharf/internal/store"
)

// GetMany returns the entries of keys in one read transaction (a missing
// or expired key: Version 0). It implements store.Batcher.
func (s *Store) GetMany(ctx context.Context, keys []string) ([]store.Entry, error) {
	for _, k := range keys {
		if !store.ValidKey(k) {
			return nil, fmt.Errorf("cannot get %q: %w", k, store.ErrInvalidKey)
		}
	}
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	out := make([]store.Entry, len(keys))
	now := nowMs()
	err := s.view(func(tx *buntdb.Tx) error {
		for i, k := range keys {
			out[i] = store.Entry{Key: k}
			v, err := tx.Get(keyNS+k, true)
			if errors.Is(err, buntdb.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			rec, err := decodeRecord(v)
			if err != nil {
				return fmt.Errorf("%q: %w", k, err)
			}
			if !rec.expired(now) {
				out[i] = rec.entry(k)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot get %d keys: %w", len(keys), err)
	}
	return out, nil
}

// CompareAndSwapMany applies swaps in one write transaction (one lock,
// one fsync); a swap whose compare fails gets its error and the others
// are still applied. It implements store.Batcher.
func (s *Store) CompareAndSwapMany(ctx context.Context, swaps []store.Swap) ([]store.SwapResult, error) {
	out := make([]store.SwapResult, len(swaps))
	valid := 0
	for i, sw := range swaps {
		if !store.ValidKey(sw.Key) {
			out[i].Err = store.ErrInvalidKey
			continue
		}
		valid++
	}
	if valid == 0 {
		return out, nil
	}
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	now := nowMs()
	err := s.update(func(tx *buntdb.Tx) error {
		revs := &revCursor{}
		for i, sw := range swaps {
			if out[i].Err != nil {
				continue
			}
			v, err := s.writeInTx(tx, revs, sw.Key, true, sw.Expect, sw.Value, sw.Opts, now)
			if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
				out[i].Err = err
				continue
			}
			if err != nil {
				return fmt.Errorf("%q: %w", sw.Key, err)
			}
			out[i].Version = v
		}
		return s.finish(tx, revs, now)
	})
	if err != nil {
		return nil, fmt.Errorf("cannot swap %d keys: %w", len(swaps), err)
	}
	return out, nil
}
