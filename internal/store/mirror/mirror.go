// Package mirror keeps an in-memory copy of every key under a store prefix:
// it lists the prefix, then watches it from the list's revision, and starts
// over (with backoff) when the watch ends or falls behind (ErrCompacted).
// After the first list and after every batch of changes it hands an
// immutable snapshot of all entries to OnChange.
package mirror

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/wharfhq/wharf/internal/store"
)

// Defaults for Options.
const (
	DefaultOpTimeout  = 5 * time.Second
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = 5 * time.Second
	// maxBatch is how many queued watch events are applied before a new
	// snapshot is published.
	maxBatch = 512
)

// Options configures a Mirror.
type Options struct {
	// Prefix is the key prefix mirrored. Required.
	Prefix string
	// OnChange receives every new snapshot (key → value), from one goroutine
	// at a time. The map must not be modified; it is not reused.
	OnChange func(entries map[string][]byte)
	// OpTimeout bounds each List call (default DefaultOpTimeout).
	OpTimeout time.Duration
	// PageSize is how many entries each List call reads (default
	// store.DefaultListLimit).
	PageSize int
	// MinBackoff and MaxBackoff bound the wait before listing again after a
	// failure (defaults DefaultMinBackoff, DefaultMaxBackoff).
	MinBackoff, MaxBackoff time.Duration
	// Logger receives sync errors; nil discards them.
	Logger *slog.Logger
}

// Mirror follows one prefix of a store.
type Mirror struct {
	st    store.Store
	opts  Options
	log   *slog.Logger
	ready chan struct{}
}

// New returns a Mirror of opts.Prefix in st; Run fills and follows it.
func New(st store.Store, opts Options) (*Mirror, error) {
	if st == nil || opts.Prefix == "" || opts.OnChange == nil {
		return nil, errors.New("cannot create store mirror: a store, a prefix and OnChange are required")
	}
	if opts.OpTimeout <= 0 {
		opts.OpTimeout = DefaultOpTimeout
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(DefaultMaxBackoff, opts.MinBackoff)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Mirror{st: st, opts: opts, log: opts.Logger, ready: make(chan struct{})}, nil
}

// Ready is closed once the first full list has been handed to OnChange.
func (m *Mirror) Ready() <-chan struct{} { return m.ready }

// Run follows the prefix until ctx is done, then returns nil. Failures are
// logged and retried with backoff; the last snapshot stays in effect.
func (m *Mirror) Run(ctx context.Context) error {
	backoff := m.opts.MinBackoff
	readyClosed := false
	for {
		listed, err := m.syncOnce(ctx, &readyClosed)
		if ctx.Err() != nil {
			return nil
		}
		if listed {
			backoff = m.opts.MinBackoff
		}
		m.log.Warn("store mirror interrupted, listing again", "prefix", m.opts.Prefix, "err", err, "backoff", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(backoff*2, m.opts.MaxBackoff)
	}
}

// syncOnce lists, publishes, then applies watch events until the watch ends.
func (m *Mirror) syncOnce(ctx context.Context, readyClosed *bool) (listed bool, err error) {
	entries := map[string][]byte{}
	var rev uint64
	first := true
	for page, err := range store.Pages(ctx, m.st, m.opts.Prefix, store.ScanOptions{Limit: m.opts.PageSize, PageTimeout: m.opts.OpTimeout}) {
		if err != nil {
			return false, fmt.Errorf("cannot list %s: %w", m.opts.Prefix, err)
		}
		if first {
			rev, first = page.Revision, false
		}
		for _, e := range page.Entries {
			entries[e.Key] = e.Value
		}
	}
	m.opts.OnChange(entries)
	if !*readyClosed {
		*readyClosed = true
		close(m.ready)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch, err := m.st.Watch(wctx, m.opts.Prefix, rev)
	if err != nil {
		return true, fmt.Errorf("cannot watch %s: %w", m.opts.Prefix, err)
	}
	for {
		ev, ok := <-ch
		if !ok {
			return true, errors.New("watch closed")
		}
		next := maps.Clone(entries)
		for n := 0; ; n++ {
			if ev.Err != nil {
				return true, ev.Err
			}
			if ev.Type == store.EventPut {
				next[ev.Key] = ev.Value
			} else {
				delete(next, ev.Key)
			}
			if n >= maxBatch || len(ch) == 0 {
				break
			}
			if ev, ok = <-ch; !ok {
				return true, errors.New("watch closed")
			}
		}
		entries = next
		m.opts.OnChange(entries)
	}
}
