package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wharfhq/wharf/internal/store"
)

// GetMany returns the entries of keys with one pipeline of HMGETs (a
// missing key: Version 0). It implements store.Batcher.
func (s *Store) GetMany(ctx context.Context, keys []string) ([]store.Entry, error) {
	for _, k := range keys {
		if !store.ValidKey(k) {
			return nil, fmt.Errorf("cannot get %q: %w", k, store.ErrInvalidKey)
		}
	}
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	cmds := make([]*redis.SliceCmd, len(keys))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.HMGet(ctx, s.hashPrefix+k, "v", "ver", "exp")
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap(fmt.Sprintf("get %d keys", len(keys)), err)
	}
	out := make([]store.Entry, len(keys))
	for i, k := range keys {
		vals := cmds[i].Val()
		if len(vals) != 3 {
			return nil, fmt.Errorf("cannot get %q: unexpected reply %v", k, vals)
		}
		e, ok, err := entryFrom(k, vals[0], vals[1], vals[2])
		if err != nil {
			return nil, fmt.Errorf("cannot get %q: %w", k, err)
		}
		if !ok {
			e = store.Entry{Key: k}
		}
		out[i] = e
	}
	return out, nil
}

// CompareAndSwapMany runs the compare-and-swap script of every swap in one
// pipeline (each swap atomic on its own, as CompareAndSwap). It implements
// store.Batcher.
func (s *Store) CompareAndSwapMany(ctx context.Context, swaps []store.Swap) ([]store.SwapResult, error) {
	out := make([]store.SwapResult, len(swaps))
	todo := make([]int, 0, len(swaps))
	for i, sw := range swaps {
		if !store.ValidKey(sw.Key) {
			out[i].Err = store.ErrInvalidKey
			continue
		}
		todo = append(todo, i)
	}
	if len(todo) == 0 {
		return out, nil
	}
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	for attempt := 0; ; attempt++ {
		cmds := make([]*redis.Cmd, len(todo))
		// Pipelined's error is the first command's; each is read below.
		_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for n, i := range todo {
				sw := swaps[i]
				var ttlMs int64
				if sw.Opts.TTL > 0 {
					ttlMs = int64((sw.Opts.TTL + time.Millisecond - 1) / time.Millisecond)
				}
				cmds[n] = p.EvalSha(ctx, s.lua.mutate.Hash(), s.scriptKeys(),
					s.hashPrefix, s.maxlen, "cas", sw.Key, strconv.FormatUint(sw.Expect, 10), sw.Value, ttlMs)
			}
			return nil
		})
		// A NOSCRIPT reply ran nothing: load the script and send those again.
		var again []int
		for n, i := range todo {
			res, cerr := cmds[n].Int64Slice()
			if cerr != nil && strings.HasPrefix(cerr.Error(), "NOSCRIPT") && attempt == 0 {
				again = append(again, i)
				continue
			}
			if cerr != nil {
				return nil, s.wrap(fmt.Sprintf("cas %q", swaps[i].Key), cerr)
			}
			out[i] = swapResult(swaps[i].Key, res)
		}
		if len(again) == 0 {
			return out, nil
		}
		if err := s.lua.mutate.Load(ctx, s.rdb).Err(); err != nil {
			return nil, s.wrap("load the mutate script", err)
		}
		todo = again
	}
}

// swapResult reads the mutate script's reply to one "cas".
func swapResult(key string, res []int64) store.SwapResult {
	switch {
	case len(res) == 0:
		return store.SwapResult{Err: fmt.Errorf("cannot cas %q: empty script reply", key)}
	case res[0] == -1:
		return store.SwapResult{Err: store.ErrNotFound}
	case res[0] == -2:
		return store.SwapResult{Err: store.ErrConflict}
	case res[0] <= 0:
		return store.SwapResult{Err: fmt.Errorf("cannot cas %q: unexpected script reply %v", key, res)}
	}
	return store.SwapResult{Version: uint64(res[0])}
}
