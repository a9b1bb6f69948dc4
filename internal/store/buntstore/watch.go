package buntstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/tidwall/buntdb"

	"github.com/wharfhq/wharf/internal/store"
)

const (
	watchBatch  = 256
	watchBuffer = 64
)

// Watch delivers every change to keys with the prefix whose revision is greater
// than fromRev, in revision order, until ctx is done. fromRev store.FromNow means "from now"; 0 is "from the beginning".
// The watcher reads the change log itself and is woken by commits, so a slow
// watcher never blocks writers; if it falls behind the retained log it gets
// store.ErrCompacted.
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
	for {
		wake := s.notify.wait()
		if s.closed() {
			s.sendFinal(ctx, ch, store.ErrClosed)
			return
		}
		evs, last, err := s.readLog(prefix, pos)
		if err != nil {
			s.sendFinal(ctx, ch, err)
			return
		}
		for _, ev := range evs {
			select {
			case ch <- ev:
			case <-ctx.Done():
				return
			case <-s.done:
				s.sendFinal(ctx, ch, store.ErrClosed)
				return
			}
		}
		caughtUp := last == pos
		pos = last
		if !caughtUp {
			continue
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return
		case <-s.done:
			s.sendFinal(ctx, ch, store.ErrClosed)
			return
		}
	}
}

// sendFinal delivers the error event that ends a watch, unless ctx is done first.
func (s *Store) sendFinal(ctx context.Context, ch chan<- store.Event, err error) {
	select {
	case ch <- store.Event{Err: err}:
	case <-ctx.Done():
	}
}

// readLog reads up to watchBatch change-log entries after revision after and
// returns those under prefix, plus the last revision read (after when none).
func (s *Store) readLog(prefix string, after uint64) ([]store.Event, uint64, error) {
	var evs []store.Event
	last := after
	err := s.view(func(tx *buntdb.Tx) error {
		trimmed, err := metaUint(tx, metaTrim)
		if err != nil {
			return err
		}
		if after < trimmed {
			return store.ErrCompacted
		}
		n := 0
		var ierr error
		err = tx.AscendGreaterOrEqual("", logKey(after+1), func(k, v string) bool {
			if !strings.HasPrefix(k, logNS) {
				return false
			}
			rev, err := parseLogKey(k)
			if err != nil {
				ierr = err
				return false
			}
			e, err := decodeLogEntry(v)
			if err != nil {
				ierr = fmt.Errorf("cannot decode change-log entry %d: %w", rev, err)
				return false
			}
			last = rev
			if strings.HasPrefix(e.key, prefix) {
				ev := store.Event{Type: e.typ, Key: e.key, Revision: rev}
				if e.typ == store.EventPut {
					ev.Value = []byte(e.value)
				}
				evs = append(evs, ev)
			}
			n++
			return n < watchBatch
		})
		if err != nil {
			return err
		}
		return ierr
	})
	if err != nil {
		return nil, after, err
	}
	return evs, last, nil
}
