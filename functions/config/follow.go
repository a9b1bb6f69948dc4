package config

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/store"
)

// follower watches one prefix of the store for the outage caches: the
// token records (a revoke, rewrite or expiry drops the token's kept
// checks) and the access keys (a change refreshes the app's kept list).
type follower struct {
	st      store.Store
	timeout time.Duration
	log     *slog.Logger
	prefix  string
	// opened is called each time the watch opens: changes before it were
	// not seen.
	opened func()
	// each is called with every changed key.
	each func(ctx context.Context, key string)
}

// run follows the prefix until ctx ends, reopening an ended watch with
// backoff; first is closed once the watch opened.
func (fw follower) run(ctx context.Context, first chan<- struct{}) {
	backoff := 100 * time.Millisecond
	for {
		err := fw.watch(ctx, func() {
			fw.opened()
			if first != nil {
				close(first)
				first = nil
			}
			backoff = 100 * time.Millisecond
		})
		if ctx.Err() != nil {
			return
		}
		fw.log.Warn("config: watch ended, reopening", "prefix", fw.prefix, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// watch opens the watch from the store's revision now and applies its
// changes until it ends.
func (fw follower) watch(ctx context.Context, opened func()) error {
	rctx, cancel := context.WithTimeout(ctx, fw.timeout)
	rev, err := fw.st.Revision(rctx)
	cancel()
	if err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch, err := fw.st.Watch(wctx, fw.prefix, rev)
	if err != nil {
		return err
	}
	opened()
	for ev := range ch {
		if ev.Err != nil {
			return ev.Err
		}
		fw.each(ctx, ev.Key)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.New("watch ended")
}

// tokenFollower drops the kept checks of every token whose record changes.
func (f *Function) tokenFollower() follower {
	return follower{st: f.st, timeout: f.opts.StoreTimeout, log: f.log, prefix: auth.TokenKeyPrefix,
		opened: func() { f.creds.setLive(true) },
		each: func(_ context.Context, key string) {
			f.creds.forget(strings.TrimPrefix(key, auth.TokenKeyPrefix))
			f.m.followedTokens.Inc()
		}}
}

// keyFollower keeps the kept access-key lists current: a change of an
// app's keys reads the app's list again (kept for a signed read during an
// outage) or, if that fails, drops it; a reopened watch drops every list.
func (f *Function) keyFollower() follower {
	return follower{st: f.st, timeout: f.opts.StoreTimeout, log: f.log, prefix: keysPrefix,
		opened: func() { f.known.dropPrefix("list\x00" + keysPrefix) },
		each: func(ctx context.Context, key string) {
			app, _, ok := strings.Cut(strings.TrimPrefix(key, keysPrefix), "/")
			if !ok {
				return
			}
			list := "list\x00" + keysPrefix + app + "/"
			f.known.drop(list)
			_, _ = f.listRaw(withStale(ctx), keysPrefix+app+"/")
			f.m.followedKeys.Inc()
		}}
}
