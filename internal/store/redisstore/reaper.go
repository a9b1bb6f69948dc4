package redisstore

import (
	"context"
	"time"
)

const reapBatch = 500

// reapLoop expires due keys every ReapInterval until Close. Every client runs
// one; the script is atomic and idempotent, so they never double-expire a key.
func (s *Store) reapLoop() {
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	t := time.NewTicker(s.opts.ReapInterval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		err := s.reap(ctx)
		switch {
		case err != nil && !failing && !s.closed():
			failing = true
			s.log.Warn("cannot reap expired keys; retrying", "err", err)
		case err == nil && failing:
			failing = false
			s.log.Info("reaping expired keys again")
		}
	}
}

// reap runs the reap script until no due key is left.
func (s *Store) reap(ctx context.Context) error {
	for {
		octx, cancel := s.opCtx(ctx)
		n, err := s.lua.reap.Run(octx, s.rdb, s.scriptKeys(), s.hashPrefix, s.maxlen, reapBatch).Int()
		cancel()
		if err != nil {
			return s.wrap("reap expired keys", err)
		}
		if n < reapBatch {
			return nil
		}
	}
}
