package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wharfhq/wharf/internal/store"
)

// Get returns the entry or store.ErrNotFound. Redis itself hides a hash whose
// PEXPIREAT has passed, so an expired key is never returned.
func (s *Store) Get(ctx context.Context, key string) (store.Entry, error) {
	if !store.ValidKey(key) {
		return store.Entry{}, store.ErrInvalidKey
	}
	if err := s.check(ctx); err != nil {
		return store.Entry{}, err
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	vals, err := s.rdb.HMGet(ctx, s.hashPrefix+key, "v", "ver", "exp").Result()
	if err != nil {
		return store.Entry{}, s.wrap(fmt.Sprintf("get %q", key), err)
	}
	e, ok, err := entryFrom(key, vals[0], vals[1], vals[2])
	if err != nil {
		return store.Entry{}, fmt.Errorf("cannot get %q: %w", key, err)
	}
	if !ok {
		return store.Entry{}, store.ErrNotFound
	}
	return e, nil
}

// Put creates or replaces the key and returns its new version.
func (s *Store) Put(ctx context.Context, key string, value []byte, opts store.PutOptions) (uint64, error) {
	return s.mutate(ctx, "put", key, 0, value, opts.TTL)
}

// CompareAndSwap writes the key only if its version equals expect (0: must not exist).
func (s *Store) CompareAndSwap(ctx context.Context, key string, expect uint64, value []byte, opts store.PutOptions) (uint64, error) {
	return s.mutate(ctx, "cas", key, expect, value, opts.TTL)
}

// Delete removes the key and returns the revision of the delete, or store.ErrNotFound.
func (s *Store) Delete(ctx context.Context, key string) (uint64, error) {
	return s.mutate(ctx, "del", key, 0, nil, 0)
}

// CompareAndDelete deletes the key only if its version equals expect.
func (s *Store) CompareAndDelete(ctx context.Context, key string, expect uint64) (uint64, error) {
	return s.mutate(ctx, "cad", key, expect, nil, 0)
}

func (s *Store) mutate(ctx context.Context, op, key string, expect uint64, value []byte, ttl time.Duration) (uint64, error) {
	if !store.ValidKey(key) {
		return 0, store.ErrInvalidKey
	}
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	var ttlMs int64
	if ttl > 0 {
		ttlMs = int64((ttl + time.Millisecond - 1) / time.Millisecond)
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	res, err := s.lua.mutate.Run(ctx, s.rdb, s.scriptKeys(),
		s.hashPrefix, s.maxlen, op, key, strconv.FormatUint(expect, 10), value, ttlMs).Int64Slice()
	if err != nil {
		return 0, s.wrap(fmt.Sprintf("%s %q", op, key), err)
	}
	if len(res) == 0 {
		return 0, fmt.Errorf("cannot %s %q: empty script reply", op, key)
	}
	switch res[0] {
	case -1:
		return 0, store.ErrNotFound
	case -2:
		return 0, store.ErrConflict
	}
	if res[0] <= 0 {
		return 0, fmt.Errorf("cannot %s %q: unexpected script reply %v", op, key, res)
	}
	return uint64(res[0]), nil
}

// List returns keys with the prefix in ascending key order, skipping expired
// ones; the page and its revision are read in one script.
func (s *Store) List(ctx context.Context, prefix string, opts store.ListOptions) (store.Page, error) {
	if err := s.check(ctx); err != nil {
		return store.Page{}, err
	}
	limit := opts.Limit
	if limit <= 0 {
		limit = store.DefaultListLimit
	}
	min := "[" + prefix
	if prefix == "" {
		min = "-"
	}
	if opts.After != "" && opts.After >= prefix {
		min = "(" + opts.After
	}
	max := "+"
	if end, ok := prefixEnd(prefix); ok {
		max = "(" + end
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	res, err := s.lua.list.Run(ctx, s.rdb, []string{s.kRev, s.kIdx}, s.hashPrefix, min, max, limit+1).Slice()
	if err != nil {
		return store.Page{}, s.wrap(fmt.Sprintf("list %q", prefix), err)
	}
	page, err := s.parsePage(res)
	if err != nil {
		return store.Page{}, fmt.Errorf("cannot list %q: %w", prefix, err)
	}
	if len(page.Entries) > limit {
		page.Entries = page.Entries[:limit]
		page.Next = page.Entries[limit-1].Key
	}
	return page, nil
}

func (s *Store) parsePage(res []any) (store.Page, error) {
	if len(res) != 2 {
		return store.Page{}, fmt.Errorf("unexpected list reply of %d items", len(res))
	}
	revStr, _ := res[0].(string)
	rev, err := strconv.ParseUint(revStr, 10, 64)
	if err != nil {
		return store.Page{}, fmt.Errorf("cannot parse revision %v: %w", res[0], err)
	}
	flat, _ := res[1].([]any)
	if len(flat)%4 != 0 {
		return store.Page{}, fmt.Errorf("unexpected list reply of %d fields", len(flat))
	}
	page := store.Page{Revision: rev, Entries: make([]store.Entry, 0, len(flat)/4)}
	for i := 0; i < len(flat); i += 4 {
		key, _ := flat[i].(string)
		e, ok, err := entryFrom(key, flat[i+1], flat[i+2], flat[i+3])
		if err != nil {
			return store.Page{}, err
		}
		if ok {
			page.Entries = append(page.Entries, e)
		}
	}
	return page, nil
}

// entryFrom builds an entry from the hash fields v, ver and exp; ok is false when the key is absent.
func entryFrom(key string, v, ver, exp any) (store.Entry, bool, error) {
	verStr, ok := ver.(string)
	if !ok {
		return store.Entry{}, false, nil
	}
	version, err := strconv.ParseUint(verStr, 10, 64)
	if err != nil {
		return store.Entry{}, false, fmt.Errorf("cannot parse version of %q: %w", key, err)
	}
	val, _ := v.(string)
	e := store.Entry{Key: key, Value: []byte(val), Version: version}
	if expStr, ok := exp.(string); ok && expStr != "0" && expStr != "" {
		ms, err := strconv.ParseInt(expStr, 10, 64)
		if err != nil {
			return store.Entry{}, false, fmt.Errorf("cannot parse expiry of %q: %w", key, err)
		}
		e.ExpiresAt = time.UnixMilli(ms)
	}
	return e, true, nil
}

// prefixEnd returns the smallest string greater than every string with the
// prefix; ok is false when there is none (empty prefix or all 0xff bytes).
func prefixEnd(prefix string) (string, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// isNil reports a Redis nil reply.
func isNil(err error) bool { return errors.Is(err, redis.Nil) }
