package buntstore

import (
	"errors"
	"strings"
	"time"

	"github.com/tidwall/buntdb"

	"github.com/wharfhq/wharf/internal/store"
)

// sweepLoop expires keys and trims the change log every SweepInterval until Close.
func (s *Store) sweepLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		if err := s.sweep(); err != nil && !errors.Is(err, store.ErrClosed) {
			s.log.Warn("cannot sweep expired keys", "err", err)
		}
		if err := s.trim(); err != nil && !errors.Is(err, store.ErrClosed) {
			s.log.Warn("cannot trim change log", "err", err)
		}
	}
}

// sweep removes every key whose stored expiry has passed, logging EventExpire for each.
func (s *Store) sweep() error {
	for {
		now := nowMs()
		pivot := expiryPivot(now)
		due := false
		err := s.view(func(tx *buntdb.Tx) error {
			return tx.AscendLessThan(expIndex, pivot, func(string, string) bool {
				due = true
				return false
			})
		})
		if err != nil || !due {
			return err
		}
		var n int
		err = s.update(func(tx *buntdb.Tx) error {
			var keys []string
			err := tx.AscendLessThan(expIndex, pivot, func(k, _ string) bool {
				keys = append(keys, k)
				return len(keys) < sweepBatch
			})
			if err != nil {
				return err
			}
			n = len(keys)
			for _, k := range keys {
				if err := s.expireDue(tx, strings.TrimPrefix(k, keyNS), now); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil || n < sweepBatch {
			return err
		}
	}
}

// expireDue expires key if it still exists and its stored expiry has passed.
func (s *Store) expireDue(tx *buntdb.Tx, key string, now uint64) error {
	v, err := tx.Get(keyNS+key, true)
	if errors.Is(err, buntdb.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	rec, err := decodeRecord(v)
	if err != nil {
		return err
	}
	if !rec.expired(now) {
		return nil
	}
	return s.expireInTx(tx, key, now)
}

// onExpiredSync is buntdb's expiry callback, run inside the transaction that
// removes items whose buntdb TTL ran out. It is a backstop behind the sweeper:
// buntdb's TTL is the stored expiry plus expiryGrace.
func (s *Store) onExpiredSync(key, _ string, tx *buntdb.Tx) error {
	if !strings.HasPrefix(key, keyNS) {
		if _, err := tx.Delete(key); err != nil && !errors.Is(err, buntdb.ErrNotFound) {
			return err
		}
		return nil
	}
	if err := s.expireInTx(tx, strings.TrimPrefix(key, keyNS), nowMs()); err != nil {
		return err
	}
	// The write lock is held until this transaction commits, so a watcher woken
	// here reads the log only after the commit.
	s.notify.broadcast()
	return nil
}

// trim drops change-log entries beyond the retention in batches.
func (s *Store) trim() error {
	over := false
	err := s.view(func(tx *buntdb.Tx) error {
		rev, err := metaUint(tx, metaRev)
		if err != nil {
			return err
		}
		trimmed, err := metaUint(tx, metaTrim)
		if err != nil {
			return err
		}
		over = rev-trimmed > uint64(s.opts.LogRetention)
		return nil
	})
	if err != nil || !over {
		return err
	}
	return s.update(func(tx *buntdb.Tx) error {
		rev, err := metaUint(tx, metaRev)
		if err != nil {
			return err
		}
		return s.compact(tx, rev, nowMs(), sweepBatch)
	})
}

// compact deletes at most max of the oldest change-log entries that are beyond
// LogRetention and, when LogRetentionAge is set, older than it. It records the
// newest deleted revision in metaTrim, which Watch uses to detect ErrCompacted.
func (s *Store) compact(tx *buntdb.Tx, rev, now uint64, max int) error {
	keep := uint64(s.opts.LogRetention)
	if rev <= keep {
		return nil
	}
	trimmed, err := metaUint(tx, metaTrim)
	if err != nil {
		return err
	}
	orig := trimmed
	ageMs := uint64(s.opts.LogRetentionAge / time.Millisecond)
	for i := 0; i < max && rev-trimmed > keep; i++ {
		k := logKey(trimmed + 1)
		if ageMs > 0 {
			v, err := tx.Get(k, true)
			if err == nil {
				if e, derr := decodeLogEntry(v); derr == nil && now < e.atMs+ageMs {
					break
				}
			}
		}
		if _, err := tx.Delete(k); err != nil && !errors.Is(err, buntdb.ErrNotFound) {
			return err
		}
		trimmed++
	}
	if trimmed != orig {
		return setMetaUint(tx, metaTrim, trimmed)
	}
	return nil
}
