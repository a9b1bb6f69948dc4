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
	all map[string]*judged
	// gen counts the changes of all (at least 1 once list was made); list
	// is all's values as of gen (nil: not made yet).
	gen  uint64
	list []*judged
}

// judged is one strategy version as the judge runs it: compiled, with its
// judging fingerprint and its source (JSON), which every state record
// judged under it carries.
type judged struct {
	*strategy.Compiled
	fp     uint64
	source []byte
}

// snapshot returns the current strategies (the slice is the caller's).
func (s *strategies) snapshot() []*judged {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*judged, 0, len(s.all))
	for _, c := range s.all {
		out = append(out, c)
	}
	return out
}

// current returns the current strategies and their generation, which
// changes with every change of the set. The slice is shared: read only.
func (s *strategies) current() ([]*judged, uint64) {
	s.mu.RLock()
	list, gen := s.list, s.gen
	s.mu.RUnlock()
	if list != nil {
		return list, gen
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.list == nil {
		s.list = make([]*judged, 0, len(s.all))
		for _, c := range s.all {
			s.list = append(s.list, c)
		}
		s.gen = max(s.gen, 1)
	}
	return s.list, s.gen
}

// generation is the generation current would return: a batch whose
// strategies are of another one was matched before a change (inForce).
func (s *strategies) generation() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.gen
}

// changed forgets the list of current and counts a change; s.mu is held.
func (s *strategies) changed() { s.list, s.gen = nil, s.gen+1 }

// inForce reports whether c is the version of its strategy in force (not
// deleted or replaced since a batch was matched against it).
func (s *strategies) inForce(c *judged) bool { return s.get(c.Source.ID) == c }

// get returns the current version of strategy id, or nil.
func (s *strategies) get(id string) *judged {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.all[id]
}

// set stores c under id (nil removes it) and reports whether the states
// of id need a sweep: the strategy was removed, or replaced by a version
// that judges differently.
func (s *strategies) set(id string, c *judged) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.all[id]
	s.changed()
	if c == nil {
		delete(s.all, id)
		return old != nil
	}
	s.all[id] = c
	return old != nil && old.fp != c.fp
}

// compileEntry decodes and compiles a stored strategy; a broken one is
// logged and ignored (the strategies API validates before writing).
func compileEntry(log *slog.Logger, key string, value []byte) *judged {
	c, err := compileSource(value)
	if err != nil {
		log.Warn("ignoring invalid strategy", "key", key, "err", err)
		return nil
	}
	return c
}

// compileSource decodes and compiles a strategy's JSON.
func compileSource(value []byte) (*judged, error) {
	var s strategy.Strategy
	if err := json.Unmarshal(value, &s); err != nil {
		return nil, fmt.Errorf("cannot decode strategy: %w", err)
	}
	c, err := strategy.Compile(s)
	if err != nil {
		return nil, err
	}
	src, err := json.Marshal(c.Source)
	if err != nil {
		return nil, fmt.Errorf("cannot encode strategy: %w", err)
	}
	return &judged{Compiled: c, fp: strategy.JudgingFingerprint(c.Source), source: src}, nil
}

// load lists every strategy and returns the revision to watch from.
func (s *strategies) load(ctx context.Context, st store.Store, log *slog.Logger) (uint64, error) {
	all := map[string]*judged{}
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
	s.changed()
	s.mu.Unlock()
	return rev, nil
}

// apply applies one watch event and returns the id of the strategy whose
// states need a sweep, if any (see set).
func (s *strategies) apply(ev store.Event, log *slog.Logger) (string, bool) {
	id := strings.TrimPrefix(ev.Key, wire.StrategyPrefix)
	var c *judged
	if ev.Type == store.EventPut {
		c = compileEntry(log, ev.Key, ev.Value)
	}
	return id, s.set(id, c)
}
