package logstore

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/wharfhq/wharf/internal/store"
)

// Get returns the entry or store.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) (store.Entry, error) {
	if !store.ValidKey(key) {
		return store.Entry{}, store.ErrInvalidKey
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return store.Entry{}, err
	}
	it := s.m[key]
	if it == nil {
		return store.Entry{}, store.ErrNotFound
	}
	return store.Entry{Key: key, Value: append([]byte(nil), it.val...), Version: it.ver}, nil
}

// GetMany returns the entries of keys in order; a missing key is an Entry
// with its Key and Version 0 (store.Batcher).
func (s *Store) GetMany(ctx context.Context, keys []string) ([]store.Entry, error) {
	for _, k := range keys {
		if !store.ValidKey(k) {
			return nil, fmt.Errorf("cannot get %q: %w", k, store.ErrInvalidKey)
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	out := make([]store.Entry, len(keys))
	for i, k := range keys {
		out[i].Key = k
		if it := s.m[k]; it != nil {
			out[i].Value, out[i].Version = append([]byte(nil), it.val...), it.ver
		}
	}
	return out, nil
}

// Put creates or replaces the key and returns its new version.
func (s *Store) Put(ctx context.Context, key string, value []byte, opts store.PutOptions) (uint64, error) {
	return s.writeOne(ctx, key, false, 0, value, opts)
}

// CompareAndSwap writes the key only if its version equals expect (0: must
// not exist): store.ErrConflict when it differs, store.ErrNotFound when
// expect is not 0 and the key is missing.
func (s *Store) CompareAndSwap(ctx context.Context, key string, expect uint64, value []byte, opts store.PutOptions) (uint64, error) {
	return s.writeOne(ctx, key, true, expect, value, opts)
}

// Delete removes the key and returns the revision of the delete, or
// store.ErrNotFound.
func (s *Store) Delete(ctx context.Context, key string) (uint64, error) {
	return s.removeOne(ctx, key, false, 0)
}

// CompareAndDelete deletes the key only if its version equals expect.
func (s *Store) CompareAndDelete(ctx context.Context, key string, expect uint64) (uint64, error) {
	return s.removeOne(ctx, key, true, expect)
}

func (s *Store) writeOne(ctx context.Context, key string, cas bool, expect uint64, value []byte, opts store.PutOptions) (uint64, error) {
	if !store.ValidKey(key) {
		return 0, store.ErrInvalidKey
	}
	if opts.TTL > 0 {
		return 0, fmt.Errorf("cannot put %q with a TTL: %w", key, ErrUnsupported)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkWrite(ctx); err != nil {
		return 0, err
	}
	tx := s.begin()
	ver, _, err := tx.swap(key, nil, cas, expect, value)
	if err != nil {
		return 0, err
	}
	if err := tx.commit(); err != nil {
		return 0, fmt.Errorf("cannot put %q: %w", key, err)
	}
	return ver, nil
}

func (s *Store) removeOne(ctx context.Context, key string, cas bool, expect uint64) (uint64, error) {
	if !store.ValidKey(key) {
		return 0, store.ErrInvalidKey
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkWrite(ctx); err != nil {
		return 0, err
	}
	tx := s.begin()
	rev, err := tx.remove(key, cas, expect)
	if err != nil {
		return 0, err
	}
	if err := tx.commit(); err != nil {
		return 0, fmt.Errorf("cannot delete %q: %w", key, err)
	}
	return rev, nil
}

// CompareAndSwapMany applies every swap with one append to the log and
// returns their results in order (store.Batcher). Swaps of one batch see
// each other: a second swap of a key expects the version the first one
// wrote. A failed append undoes the batch and is the error. A result's
// Ref is the key's item: passed in the next swap of the key (Swap.Ref),
// it spares that swap the lookup in the map while the key lives.
func (s *Store) CompareAndSwapMany(ctx context.Context, swaps []store.Swap) ([]store.SwapResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkWrite(ctx); err != nil {
		return nil, err
	}
	out := make([]store.SwapResult, len(swaps))
	tx := s.begin()
	for i, sw := range swaps {
		switch {
		case !s.hasRef(sw.Key, sw.Ref) && !store.ValidKey(sw.Key):
			out[i].Err = store.ErrInvalidKey
		case sw.Opts.TTL > 0:
			out[i].Err = fmt.Errorf("cannot put %q with a TTL: %w", sw.Key, ErrUnsupported)
		default:
			var it *item
			out[i].Version, it, out[i].Err = tx.swap(sw.Key, sw.Ref, true, sw.Expect, sw.Value)
			if it != nil {
				out[i].Ref = it
			}
		}
	}
	if err := tx.commit(); err != nil {
		return nil, fmt.Errorf("cannot write %d keys: %w", len(swaps), err)
	}
	return out, nil
}

// List returns keys with the prefix in ascending key order, one page at a
// time. Keys created since the last List are sorted and merged in; after
// a removal every key is sorted again (removals are rare: a page of a
// scan while new series keep coming costs a merge, not a sort).
func (s *Store) List(ctx context.Context, prefix string, opts store.ListOptions) (store.Page, error) {
	limit := opts.Limit
	if limit <= 0 {
		limit = store.DefaultListLimit
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return store.Page{}, err
	}
	s.sortKeys()
	start := prefix
	if opts.After != "" && opts.After+"\x00" > start {
		start = opts.After + "\x00"
	}
	page := store.Page{Revision: s.rev}
	for i := sort.SearchStrings(s.sorted, start); i < len(s.sorted) && strings.HasPrefix(s.sorted[i], prefix); i++ {
		if len(page.Entries) == limit {
			page.Next = page.Entries[limit-1].Key
			break
		}
		k := s.sorted[i]
		it := s.m[k]
		page.Entries = append(page.Entries, store.Entry{Key: k, Value: append([]byte(nil), it.val...), Version: it.ver})
	}
	return page, nil
}

// sortKeys brings s.sorted up to date. s.mu is held.
func (s *Store) sortKeys() {
	if !s.sortedOK {
		s.sorted = s.sorted[:0]
		for k := range s.m {
			s.sorted = append(s.sorted, k)
		}
		sort.Strings(s.sorted)
		s.added, s.sortedOK = s.added[:0], true
		return
	}
	if len(s.added) == 0 {
		return
	}
	sort.Strings(s.added)
	merged := make([]string, 0, len(s.sorted)+len(s.added))
	i, j := 0, 0
	for i < len(s.sorted) && j < len(s.added) {
		if s.sorted[i] < s.added[j] {
			merged = append(merged, s.sorted[i])
			i++
		} else {
			merged = append(merged, s.added[j])
			j++
		}
	}
	merged = append(append(merged, s.sorted[i:]...), s.added[j:]...)
	s.sorted, s.added = merged, s.added[:0]
}
