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

const (
	watchBatch   = 256
	watchBuffer  = 64
	backoffFirst = 50 * time.Millisecond
	backoffMax   = 2 * time.Second
)

// Watch delivers every change to keys with the prefix whose revision is greater
// than fromRev, in revision order, until ctx is done. fromRev store.FromNow means "from now"; 0 is "from the beginning".
//
// The watcher reads the change stream with XREAD BLOCK and filters by prefix
// itself. On errors it reconnects with backoff and resumes after the last
// revision it read. A gap in the stream (trimmed by MAXLEN) or a server whose
// revision went backwards (lost data) ends the watch with store.ErrCompacted.
func (s *Store) Watch(ctx context.Context, prefix string, fromRev uint64) (<-chan store.Event, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if fromRev == store.FromNow {
		rev, err := s.Revision(ctx)
		if err != nil {
			return nil, fmt.Errorf("cannot start watch: %w", err)
		}
		fromRev = rev
	}
	ch := make(chan store.Event, watchBuffer)
	go s.watchLoop(ctx, prefix, fromRev, ch)
	return ch, nil
}

func (s *Store) watchLoop(ctx context.Context, prefix string, pos uint64, ch chan<- store.Event) {
	defer close(ch)
	backoff := time.Duration(0)
	reconnected := false
	for {
		if s.closed() {
			s.sendFinal(ctx, ch, store.ErrClosed)
			return
		}
		if ctx.Err() != nil {
			return
		}
		if backoff > 0 {
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return
			case <-s.done:
				continue
			}
		}
		if reconnected {
			// After an outage, make sure the server did not lose changes we already delivered.
			rev, err := s.Revision(ctx)
			if err != nil {
				backoff = nextBackoff(backoff)
				continue
			}
			if rev < pos {
				s.sendFinal(ctx, ch, fmt.Errorf("redis revision %d is behind watched revision %d: %w", rev, pos, store.ErrCompacted))
				return
			}
			reconnected = false
		}
		msgs, err := s.readStream(ctx, pos)
		if err != nil {
			if s.closed() || ctx.Err() != nil {
				continue
			}
			if backoff == 0 {
				s.log.Warn("cannot read change stream; reconnecting", "err", err, "rev", pos)
			}
			backoff = nextBackoff(backoff)
			reconnected = true
			continue
		}
		backoff = 0
		for _, msg := range msgs {
			rev, err := parseID(msg.ID)
			if err != nil {
				s.sendFinal(ctx, ch, err)
				return
			}
			if rev != pos+1 {
				s.sendFinal(ctx, ch, fmt.Errorf("change stream continues at %d, watcher is at %d: %w", rev, pos, store.ErrCompacted))
				return
			}
			pos = rev
			ev := eventFrom(rev, msg.Values)
			if !strings.HasPrefix(ev.Key, prefix) {
				continue
			}
			select {
			case ch <- ev:
			case <-ctx.Done():
				return
			case <-s.done:
				s.sendFinal(ctx, ch, store.ErrClosed)
				return
			}
		}
	}
}

// readStream blocks up to WatchBlock for entries after revision pos.
func (s *Store) readStream(ctx context.Context, pos uint64) ([]redis.XMessage, error) {
	rctx, cancel := context.WithTimeout(ctx, s.opts.WatchBlock+s.opts.OpTimeout)
	defer cancel()
	streams, err := s.wrdb.XRead(rctx, &redis.XReadArgs{
		Streams: []string{s.kLog, strconv.FormatUint(pos, 10) + "-18446744073709551615"},
		Count:   watchBatch,
		Block:   s.opts.WatchBlock,
	}).Result()
	if isNil(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(streams) == 0 {
		return nil, nil
	}
	return streams[0].Messages, nil
}

// sendFinal delivers the error event that ends a watch, unless ctx is done first.
func (s *Store) sendFinal(ctx context.Context, ch chan<- store.Event, err error) {
	select {
	case ch <- store.Event{Err: err}:
	case <-ctx.Done():
	}
}

func nextBackoff(d time.Duration) time.Duration {
	if d == 0 {
		return backoffFirst
	}
	return min(2*d, backoffMax)
}

// parseID returns the revision of a stream entry ID "<rev>-<seq>".
func parseID(id string) (uint64, error) {
	revStr, _, _ := strings.Cut(id, "-")
	rev, err := strconv.ParseUint(revStr, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cannot parse change stream ID %q: %w", id, err)
	}
	return rev, nil
}

func eventFrom(rev uint64, values map[string]any) store.Event {
	ev := store.Event{Revision: rev}
	ev.Key, _ = values["k"].(string)
	t, _ := values["t"].(string)
	switch t {
	case "put":
		ev.Type = store.EventPut
		v, _ := values["v"].(string)
		ev.Value = []byte(v)
	case "delete":
		ev.Type = store.EventDelete
	case "expire":
		ev.Type = store.EventExpire
	}
	return ev
}
