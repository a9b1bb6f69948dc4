package edge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wharfhq/wharf/internal/store"
)

// Watch calls apply with the current document and then with every new
// version, until ctx ends (it then returns nil). A failed read or a broken
// watch is logged and retried with backoff; apply keeps the last good
// document meanwhile. A version that does not decode is logged and skipped.
// apply is called from one goroutine at a time.
func (s *Store) Watch(ctx context.Context, apply func(Doc)) error {
	backoff := 100 * time.Millisecond
	for {
		err := s.watchOnce(ctx, apply)
		if ctx.Err() != nil {
			return nil
		}
		s.log.Warn("edge config watch interrupted; retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (s *Store) watchOnce(ctx context.Context, apply func(Doc)) error {
	lctx, cancel := context.WithTimeout(ctx, s.opts.OpTimeout)
	page, err := s.st.List(lctx, s.opts.Key, store.ListOptions{Limit: 2})
	cancel()
	if err != nil {
		return fmt.Errorf("cannot list edge config: %w", err)
	}
	for _, e := range page.Entries {
		if e.Key != s.opts.Key {
			continue
		}
		d, err := decode(e.Value)
		if err != nil {
			return err
		}
		apply(d)
	}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	ch, err := s.st.Watch(wctx, s.opts.Key, page.Revision)
	if err != nil {
		return fmt.Errorf("cannot watch edge config: %w", err)
	}
	for ev := range ch {
		if ev.Err != nil {
			return ev.Err
		}
		if ev.Key != s.opts.Key || ev.Type != store.EventPut {
			continue
		}
		d, err := decode(ev.Value)
		if err != nil {
			s.log.Error("skipping edge config version that does not decode", "revision", ev.Revision, "err", err)
			continue
		}
		apply(d)
	}
	if ctx.Err() != nil {
		return nil
	}
	return errors.New("edge config watch closed")
}
