package ratelimit

import (
	"hash/maphash"
	"sync"
)

const numShards = 64

// entry is the nginx limit_req node: excess in thousandths of a request and
// the time (ms) of the last charged request. Entries of one shard form an
// intrusive LRU list ordered by last charge, head = most recent.
type entry struct {
	key        string
	excess     int64
	last       int64
	prev, next *entry
}

type shard struct {
	mu         sync.Mutex
	m          map[string]*entry
	head, tail *entry
	max        int
	_          [64]byte // keep neighbouring shards' mutexes off one cache line
}

// table is the state of one zone: 64 shards chosen by a seeded 64-bit hash of
// the key. Inside a shard the map is keyed by the full key, so hash collisions
// only cost a shared lock, never a wrong answer. The table holds no settings:
// excess is in milli-requests, so the same state stays meaningful under every
// Zone view of it (Zone.With), each draining at its own rate. id fixes the
// global lock order among tables of one Registry.
type table struct {
	id     uint64
	seed   maphash.Seed
	shards [numShards]shard
}

func newTable(id uint64, maxKeys int) *table {
	t := &table{id: id, seed: maphash.MakeSeed()}
	per := (maxKeys + numShards - 1) / numShards
	if per < 1 {
		per = 1
	}
	for i := range t.shards {
		t.shards[i].m = make(map[string]*entry)
		t.shards[i].max = per
	}
	return t
}

func (t *table) shardFor(key []byte) *shard {
	return &t.shards[maphash.Bytes(t.seed, key)&(numShards-1)]
}

// idle reports whether e's excess has drained at c's rate so far that the
// next request would compute excess 0 — exactly what a brand-new key gets — so
// dropping e is unobservable (for a clock that does not run backwards).
func idle(c *limitConf, e *entry, now int64) bool {
	ms := now - e.last
	return ms >= 0 && c.drain(ms) >= e.excess+1000
}

// The list helpers and insert/remove require s.mu to be held.

func (s *shard) unlink(e *entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		s.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		s.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (s *shard) pushFront(e *entry) {
	e.next = s.head
	if s.head != nil {
		s.head.prev = e
	} else {
		s.tail = e
	}
	s.head = e
}

func (s *shard) touch(e *entry) {
	if s.head != e {
		s.unlink(e)
		s.pushFront(e)
	}
}

func (s *shard) remove(e *entry) {
	s.unlink(e)
	delete(s.m, e.key)
}

// insert adds a new key (copying it) after expiring up to two idle entries at
// the stale end of the list and, if the shard is still full, evicting the
// stalest entry (like nginx's ngx_http_limit_req_expire).
func insert(c *limitConf, s *shard, key []byte, excess, now int64) {
	for i := 0; i < 2 && s.tail != nil && idle(c, s.tail, now); i++ {
		s.remove(s.tail)
	}
	for len(s.m) >= s.max && s.tail != nil {
		s.remove(s.tail)
	}
	e := &entry{key: string(key), excess: excess, last: now}
	s.m[e.key] = e
	s.pushFront(e)
}

// sweep drops every entry idle at c's rate and returns how many were dropped.
func (t *table) sweep(c *limitConf, now int64) int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for e := s.tail; e != nil; {
			prev := e.prev
			if idle(c, e, now) {
				s.remove(e)
				n++
			}
			e = prev
		}
		s.mu.Unlock()
	}
	return n
}

func (t *table) len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}
