package buntstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tidwall/buntdb"

	"github.com/wharfhq/wharf/internal/store"
)

// Get returns the entry or store.ErrNotFound. An expired key is never returned,
// even before the sweeper has removed it.
func (s *Store) Get(ctx context.Context, key string) (store.Entry, error) {
	if !store.ValidKey(key) {
		return store.Entry{}, store.ErrInvalidKey
	}
	if err := s.check(ctx); err != nil {
		return store.Entry{}, err
	}
	var e store.Entry
	err := s.view(func(tx *buntdb.Tx) error {
		v, err := tx.Get(keyNS+key, true)
		if err != nil {
			return err
		}
		rec, err := decodeRecord(v)
		if err != nil {
			return err
		}
		if rec.expired(nowMs()) {
			return buntdb.ErrNotFound
		}
		e = rec.entry(key)
		return nil
	})
	if errors.Is(err, buntdb.ErrNotFound) {
		return store.Entry{}, store.ErrNotFound
	}
	if err != nil {
		return store.Entry{}, fmt.Errorf("cannot get %q: %w", key, err)
	}
	return e, nil
}

// Put creates or replaces the key and returns its new version.
func (s *Store) Put(ctx context.Context, key string, value []byte, opts store.PutOptions) (uint64, error) {
	return s.write(ctx, key, false, 0, value, opts)
}

// CompareAndSwap writes the key only if its version equals expect (0: must not exist).
func (s *Store) CompareAndSwap(ctx context.Context, key string, expect uint64, value []byte, opts store.PutOptions) (uint64, error) {
	return s.write(ctx, key, true, expect, value, opts)
}

// Delete removes the key and returns the revision of the delete, or store.ErrNotFound.
func (s *Store) Delete(ctx context.Context, key string) (uint64, error) {
	return s.remove(ctx, key, false, 0)
}

// CompareAndDelete deletes the key only if its version equals expect.
func (s *Store) CompareAndDelete(ctx context.Context, key string, expect uint64) (uint64, error) {
	return s.remove(ctx, key, true, expect)
}

func (s *Store) write(ctx context.Context, key string, cas bool, expect uint64, value []byte, opts store.PutOptions) (uint64, error) {
	if !store.ValidKey(key) {
		return 0, store.ErrInvalidKey
	}
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	now := nowMs()
	var version uint64
	err := s.update(func(tx *buntdb.Tx) error {
		var err error
		version, err = s.writeInTx(tx, nil, key, cas, expect, value, opts, now)
		return err
	})
	if err != nil {
		return 0, wrapOp("put", key, err)
	}
	return version, nil
}

// writeInTx is write inside tx: it returns the new version, or
// store.ErrConflict / store.ErrNotFound when a compare fails.
func (s *Store) writeInTx(tx *buntdb.Tx, revs *revCursor, key string, cas bool, expect uint64, value []byte, opts store.PutOptions, now uint64) (uint64, error) {
	rec := record{value: string(value), expMs: noExpiry}
	var setOpts *buntdb.SetOptions
	if opts.TTL > 0 {
		ms := ttlMs(opts.TTL)
		rec.expMs = now + ms
		setOpts = &buntdb.SetOptions{Expires: true, TTL: time.Duration(ms)*time.Millisecond + expiryGrace}
	}
	cur, ok, err := s.currentTo(tx, revs, key, now)
	if err != nil {
		return 0, err
	}
	if cas {
		switch {
		case expect == 0 && ok:
			return 0, store.ErrConflict
		case expect != 0 && !ok:
			return 0, store.ErrNotFound
		case ok && cur.version != expect:
			return 0, store.ErrConflict
		}
	}
	rev, err := s.appendChangeTo(tx, revs, store.EventPut, key, rec.value, now)
	if err != nil {
		return 0, err
	}
	rec.version = rev
	_, _, err = tx.Set(keyNS+key, rec.encode(), setOpts)
	return rev, err
}

func (s *Store) remove(ctx context.Context, key string, cas bool, expect uint64) (uint64, error) {
	if !store.ValidKey(key) {
		return 0, store.ErrInvalidKey
	}
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	now := nowMs()
	var rev uint64
	err := s.update(func(tx *buntdb.Tx) error {
		cur, ok, err := s.current(tx, key, now)
		if err != nil {
			return err
		}
		if !ok {
			return store.ErrNotFound
		}
		if cas && cur.version != expect {
			return store.ErrConflict
		}
		if _, err := tx.Delete(keyNS + key); err != nil && !errors.Is(err, buntdb.ErrNotFound) {
			return err
		}
		rev, err = s.appendChange(tx, store.EventDelete, key, "", now)
		return err
	})
	if err != nil {
		return 0, wrapOp("delete", key, err)
	}
	return rev, nil
}

// wrapOp passes the contract's sentinel errors through unchanged and wraps the rest.
func wrapOp(op, key string, err error) error {
	for _, sentinel := range []error{store.ErrNotFound, store.ErrConflict, store.ErrClosed} {
		if errors.Is(err, sentinel) {
			return sentinel
		}
	}
	return fmt.Errorf("cannot %s %q: %w", op, key, err)
}

// current returns the live record of key. A record whose TTL ran out is
// expired first, with its change-log entry, and reported as missing.
func (s *Store) current(tx *buntdb.Tx, key string, now uint64) (record, bool, error) {
	return s.currentTo(tx, nil, key, now)
}

// currentTo is current logging an expiry through revs (see revCursor).
func (s *Store) currentTo(tx *buntdb.Tx, revs *revCursor, key string, now uint64) (record, bool, error) {
	v, err := tx.Get(keyNS+key, true)
	if errors.Is(err, buntdb.ErrNotFound) {
		return record{}, false, nil
	}
	if err != nil {
		return record{}, false, err
	}
	rec, err := decodeRecord(v)
	if err != nil {
		return record{}, false, err
	}
	if rec.expired(now) {
		if err := s.expireInTxTo(tx, revs, key, now); err != nil {
			return record{}, false, err
		}
		return record{}, false, nil
	}
	return rec, true, nil
}

// expireInTx removes an existing key because its TTL ran out and logs EventExpire.
func (s *Store) expireInTx(tx *buntdb.Tx, key string, now uint64) error {
	return s.expireInTxTo(tx, nil, key, now)
}

// expireInTxTo is expireInTx logging through revs (see revCursor).
func (s *Store) expireInTxTo(tx *buntdb.Tx, revs *revCursor, key string, now uint64) error {
	// buntdb reports ErrNotFound for items it considers expired, after deleting them.
	if _, err := tx.Delete(keyNS + key); err != nil && !errors.Is(err, buntdb.ErrNotFound) {
		return err
	}
	_, err := s.appendChangeTo(tx, revs, store.EventExpire, key, "", now)
	return err
}

// appendChange bumps the revision and appends the change-log entry in tx; it returns the new revision.
func (s *Store) appendChange(tx *buntdb.Tx, typ store.EventType, key, value string, now uint64) (uint64, error) {
	return s.appendChangeTo(tx, nil, typ, key, value, now)
}

// revCursor carries the revision through the writes of one transaction
// (CompareAndSwapMany): the meta revision is read once, written once at
// the end, and the log compacted once, instead of per write.
type revCursor struct {
	rev, first uint64
	loaded     bool
}

// appendChangeTo is appendChange through revs (nil: this write alone).
func (s *Store) appendChangeTo(tx *buntdb.Tx, revs *revCursor, typ store.EventType, key, value string, now uint64) (uint64, error) {
	if revs == nil {
		return s.appendChangeOne(tx, typ, key, value, now)
	}
	if !revs.loaded {
		rev, err := metaUint(tx, metaRev)
		if err != nil {
			return 0, err
		}
		revs.rev, revs.first, revs.loaded = rev, rev, true
	}
	revs.rev++
	entry := logEntry{typ: typ, atMs: now, key: key, value: value}
	if _, _, err := tx.Set(logKey(revs.rev), entry.encode(), nil); err != nil {
		return 0, err
	}
	return revs.rev, nil
}

// finish writes the revision the transaction's writes reached and
// compacts the log as their single writes would have.
func (s *Store) finish(tx *buntdb.Tx, revs *revCursor, now uint64) error {
	if !revs.loaded || revs.rev == revs.first {
		return nil
	}
	if err := setMetaUint(tx, metaRev, revs.rev); err != nil {
		return err
	}
	return s.compact(tx, revs.rev, now, 2*int(revs.rev-revs.first))
}

func (s *Store) appendChangeOne(tx *buntdb.Tx, typ store.EventType, key, value string, now uint64) (uint64, error) {
	rev, err := metaUint(tx, metaRev)
	if err != nil {
		return 0, err
	}
	rev++
	if err := setMetaUint(tx, metaRev, rev); err != nil {
		return 0, err
	}
	entry := logEntry{typ: typ, atMs: now, key: key, value: value}
	if _, _, err := tx.Set(logKey(rev), entry.encode(), nil); err != nil {
		return 0, err
	}
	if err := s.compact(tx, rev, now, 2); err != nil {
		return 0, err
	}
	return rev, nil
}

// List returns keys with the prefix in ascending key order, skipping expired ones.
func (s *Store) List(ctx context.Context, prefix string, opts store.ListOptions) (store.Page, error) {
	if err := s.check(ctx); err != nil {
		return store.Page{}, err
	}
	limit := opts.Limit
	if limit <= 0 {
		limit = store.DefaultListLimit
	}
	full := keyNS + prefix
	start := full
	if opts.After != "" {
		if a := keyNS + opts.After + "\x00"; a > start {
			start = a
		}
	}
	var page store.Page
	err := s.view(func(tx *buntdb.Tx) error {
		rev, err := metaUint(tx, metaRev)
		if err != nil {
			return err
		}
		page.Revision = rev
		now := nowMs()
		var derr error
		err = tx.AscendGreaterOrEqual("", start, func(k, v string) bool {
			if !strings.HasPrefix(k, full) {
				return false
			}
			rec, err := decodeRecord(v)
			if err != nil {
				derr = err
				return false
			}
			if !rec.expired(now) {
				page.Entries = append(page.Entries, rec.entry(k[len(keyNS):]))
			}
			return len(page.Entries) <= limit
		})
		if err != nil {
			return err
		}
		return derr
	})
	if err != nil {
		if errors.Is(err, store.ErrClosed) {
			return store.Page{}, err
		}
		return store.Page{}, fmt.Errorf("cannot list %q: %w", prefix, err)
	}
	if len(page.Entries) > limit {
		page.Entries = page.Entries[:limit]
		page.Next = page.Entries[limit-1].Key
	}
	return page, nil
}

// ttlMs converts a positive TTL to whole milliseconds, rounding up.
func ttlMs(ttl time.Duration) uint64 {
	return uint64((ttl + time.Millisecond - 1) / time.Millisecond)
}
