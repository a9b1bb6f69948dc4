package judge

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/strategy"
)

// strategies is the in-memory set of compiled strategies, kept current
// from the store (list, then watch wire.StrategyPrefix).
type strategies struct {
	mu  sync.RWMutex
	all map[string]*strategy.Compiled
}

// change is one strategy replaced or removed: old is what it was.
type change struct {
	id  string
	old *strategy.Compiled
}

// snapshot returns the current strategies (the slice is the caller's).
func (s *strategies) snapshot() []*strategy.Compiled {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*strategy.Compiled, 0, len(s.all))
	for _, c := range s.all {
		out = append(out, c)
	}
	return out
}

// set stores c under id (nil removes it) and returns the strategy it
// replaced, if that one judged differently.
func (s *strategies) set(id string, c *strategy.Compiled) *strategy.Compiled {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.all[id]
	if c == nil {
		delete(s.all, id)
		return old
	}
	s.all[id] = c
	if old != nil && sameStrategy(old, c) {
		return nil
	}
	return old
}

// sameStrategy reports whether a and b were compiled from equal sources.
func sameStrategy(a, b *strategy.Compiled) bool {
	x, errA := json.Marshal(a.Source)
	y, errB := json.Marshal(b.Source)
	return errA == nil && errB == nil && string(x) == string(y)
}

// compileEntry decodes and compiles a stored strategy; a broken one is
// logged and ignored (the strategies API validates before writing).
func compileEntry(log *slog.Logger, key string, value []byte) *strategy.Compiled {
	var s strategy.Strategy
	if err := json.Unmarshal(value, &s); err != nil {
		log.Warn("ignoring undecodable strategy", "key", key, "err", err)
		return nil
	}
	c, err := strategy.Compile(s)
	if err != nil {
		log.Warn("ignoring invalid strategy", "key", key, "err", err)
		return nil
	}
	return c
}

// load lists every strategy and returns the revision to watch from.
func (s *strategies) load(ctx context.Context, st store.Store, log *slog.Logger) (uint64, error) {
	all := map[string]*strategy.Compiled{}
	var rev uint64
	for p, err := range store.Pages(ctx, st, wire.StrategyPrefix, store.ScanOptions{}) {
		if err != nil {
			return 0, fmt.Errorf("cannot list strategies: %w", err)
		}
		if rev == 0 {
			rev = p.Revision
		}
		for _, e := range p.Entries {
			if c := compileEntry(log, e.Key, e.Value); c != nil {
				all[strings.TrimPrefix(e.Key, wire.StrategyPrefix)] = c
			}
		}
	}
	s.mu.Lock()
	s.all = all
	s.mu.Unlock()
	return rev, nil
}

// apply applies one watch event and returns the change to resolve, if any.
func (s *strategies) apply(ev store.Event, log *slog.Logger) (change, bool) {
	id := strings.TrimPrefix(ev.Key, wire.StrategyPrefix)
	var c *strategy.Compiled
	if ev.Type == store.EventPut {
		c = compileEntry(log, ev.Key, ev.Value)
	}
	old := s.set(id, c)
	return change{id: id, old: old}, old != nil
}
