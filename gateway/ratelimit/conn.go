package ratelimit

import (
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
)

// ConnLimiter is an nginx limit_conn-style concurrency limiter: at most Max
// requests in flight per key. It is safe for concurrent use.
//
// Per-key counters live in 64 sharded maps. A counter that drops to zero is
// kept (so the next Acquire for that key does not allocate) until its shard
// reaches MaxKeys/64 entries, at which point idle counters are swept; counters
// with requests in flight are never dropped.
type ConnLimiter struct {
	max    int64
	seed   maphash.Seed
	shards [numShards]connShard
}

type connShard struct {
	mu        sync.Mutex
	m         map[string]*connEntry
	max       int // sweep idle entries when len(m) reaches this
	nextSweep int
	_         [64]byte
}

type connEntry struct{ n int64 }

// ConnToken is a held slot. Release it exactly once with (*ConnToken).Release;
// releasing the same token variable again is a no-op. Do not copy a token
// before releasing it (a copy would release a second slot).
type ConnToken struct {
	s *connShard
	e *connEntry
}

// ConnOptions configure a ConnLimiter.
type ConnOptions struct {
	Max     int // concurrent requests per key, ≥ 1
	MaxKeys int // idle-key bound (default DefaultMaxKeys)
}

// NewConnLimiter returns a ConnLimiter.
func NewConnLimiter(opts ConnOptions) (*ConnLimiter, error) {
	if opts.Max < 1 {
		return nil, fmt.Errorf("cannot create connection limiter: max %d must be at least 1", opts.Max)
	}
	if opts.MaxKeys < 0 {
		return nil, errors.New("cannot create connection limiter: MaxKeys must not be negative")
	}
	if opts.MaxKeys == 0 {
		opts.MaxKeys = DefaultMaxKeys
	}
	per := (opts.MaxKeys + numShards - 1) / numShards
	c := &ConnLimiter{max: int64(opts.Max), seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].m = make(map[string]*connEntry)
		c.shards[i].max = per
		c.shards[i].nextSweep = per
	}
	return c, nil
}

// Acquire takes a slot for key. ok is false (and the token empty) when key
// already has Max requests in flight. An empty key is never limited: ok is
// true and the token is empty. The key is copied only when it is new.
func (c *ConnLimiter) Acquire(key []byte) (tok ConnToken, ok bool) {
	if len(key) == 0 {
		return ConnToken{}, true
	}
	s := &c.shards[maphash.Bytes(c.seed, key)&(numShards-1)]
	s.mu.Lock()
	e := s.m[string(key)]
	if e == nil {
		if len(s.m) >= s.nextSweep {
			s.sweep()
		}
		e = &connEntry{}
		s.m[string(key)] = e
	}
	if e.n >= c.max {
		s.mu.Unlock()
		return ConnToken{}, false
	}
	e.n++
	s.mu.Unlock()
	return ConnToken{s: s, e: e}, true
}

// sweep drops idle counters; s.mu must be held. If the shard is still full
// of busy keys, the next sweep waits until it has doubled, keeping inserts
// amortized O(1).
func (s *connShard) sweep() {
	for k, e := range s.m {
		if e.n == 0 {
			delete(s.m, k)
		}
	}
	s.nextSweep = max(s.max, 2*len(s.m))
}

// Release gives the slot back. It is safe to call on an empty token and to
// call more than once on the same token variable.
func (t *ConnToken) Release() {
	s, e := t.s, t.e
	if e == nil {
		return
	}
	t.s, t.e = nil, nil
	s.mu.Lock()
	e.n--
	s.mu.Unlock()
}

// InFlight returns the number of requests in flight for key.
func (c *ConnLimiter) InFlight(key []byte) int {
	s := &c.shards[maphash.Bytes(c.seed, key)&(numShards-1)]
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.m[string(key)]; e != nil {
		return int(e.n)
	}
	return 0
}

// Len returns the number of keys currently tracked (busy or idle).
func (c *ConnLimiter) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}
