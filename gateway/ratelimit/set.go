package ratelimit

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Set is the list of zones one route decides a request against together
// (nginx: several limit_req directives in one location). It is immutable and
// safe for concurrent use; zones may be listed by any number of Sets.
type Set struct {
	reg    *Registry
	zones  []*Zone
	lims   [MaxLimits]setLimit
	n      int
	order  [MaxLimits]uint8 // indices into lims, by increasing table id
	policy string
}

type setLimit struct {
	c *limitConf
	t *table
}

// NewSet returns a Set of 1..MaxLimits zones. The zones must belong to one
// Registry (one clock, one lock order) and have distinct state tables (a zone
// and a With view of it cannot be in one Set). Keys passed to Decide and the
// Decision's Limit index follow the order given here.
func NewSet(zones ...*Zone) (*Set, error) {
	if len(zones) == 0 || len(zones) > MaxLimits {
		return nil, fmt.Errorf("cannot create rate limit set: need 1..%d zones, got %d", MaxLimits, len(zones))
	}
	s := &Set{zones: slices.Clone(zones), n: len(zones)}
	items := make([]string, len(zones))
	for i, z := range zones {
		if z == nil {
			return nil, fmt.Errorf("cannot create rate limit set: zone %d is nil", i)
		}
		if s.reg == nil {
			s.reg = z.reg
		} else if z.reg != s.reg {
			return nil, fmt.Errorf("cannot create rate limit set: zone %q belongs to another Registry", z.conf.Name)
		}
		for j := 0; j < i; j++ {
			if zones[j].tab == z.tab {
				return nil, fmt.Errorf("cannot create rate limit set: zones %q and %q share one state table", zones[j].conf.Name, z.conf.Name)
			}
		}
		s.lims[i] = setLimit{c: &z.conf, t: z.tab}
		s.order[i] = uint8(i)
		items[i] = z.conf.policy
	}
	slices.SortFunc(s.order[:s.n], func(a, b uint8) int {
		x, y := s.lims[a].t.id, s.lims[b].t.id
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
	s.policy = strings.Join(items, ", ")
	return s, nil
}

// Zones returns the Set's zones in order.
func (s *Set) Zones() []*Zone { return slices.Clone(s.zones) }

// Len returns the number of zones in the Set.
func (s *Set) Len() int { return s.n }

// Registry returns the Registry of the Set's zones.
func (s *Set) Registry() *Registry { return s.reg }

// Decide evaluates one request. keys[i] is the key for zone i; an empty or
// missing key skips that zone (keys beyond the number of zones are ignored).
// Keys are not retained (a new key is copied).
//
// The shards of all keys are locked first, in increasing table id — one
// global order for all Sets of a Registry, so concurrent Sets listing shared
// zones in different orders cannot deadlock. Then every zone is evaluated in
// the caller's order, and only if none rejects are they all charged. A
// rejection thus leaves all state unchanged, with no window for another
// request to slip in between evaluation and commit.
func (s *Set) Decide(keys [][]byte) Decision {
	now := s.reg.clock()
	n := s.n
	if len(keys) < n {
		n = len(keys)
	}
	var (
		shards [MaxLimits]*shard
		ents   [MaxLimits]*entry
		exc    [MaxLimits]int64
		charge [MaxLimits]bool
	)
	for _, i := range s.order[:s.n] {
		if int(i) >= n || len(keys[i]) == 0 {
			continue
		}
		sh := s.lims[i].t.shardFor(keys[i])
		sh.mu.Lock()
		shards[i] = sh
		ents[i] = sh.m[string(keys[i])]
	}
	d := Decision{Limit: -1}
	var bestRem int64 = math.MaxInt64
	var dryDelay int64 = -1
	var delay int64
	rejected := false
	for i := 0; i < n; i++ {
		if shards[i] == nil {
			continue
		}
		c := s.lims[i].c
		e := ents[i]
		var excess, ms int64
		if e != nil {
			ms = now - e.last
			if ms < -60000 {
				ms = 1
			} else if ms < 0 {
				ms = 0
			}
			excess = e.excess - c.drain(ms) + 1000
			if excess < 0 {
				excess = 0
			}
		}
		if excess > c.burst {
			// Ceil of the total ms since e.last after which the excess fits.
			need := ((e.excess+1000-c.burst)*1000 + c.Rate - 1) / c.Rate
			retry := time.Duration(need-ms) * time.Millisecond
			if retry < time.Millisecond {
				retry = time.Millisecond
			}
			cur := excess - 1000
			if cur < 0 {
				cur = 0
			}
			if !c.DryRun {
				d = Decision{Outcome: Rejected, Limit: i, Status: c.Status, Excess: cur, RetryAfter: retry}
				rejected = true
				break
			}
			if d.Outcome < RejectedDryRun {
				d = Decision{Outcome: RejectedDryRun, Limit: i, Excess: cur, RetryAfter: retry}
			}
			continue
		}
		exc[i] = excess
		charge[i] = true
		var dl int64
		if excess > c.delay {
			dl = (excess - c.delay) * 1000 / c.Rate
		}
		switch {
		case dl > 0 && !c.DryRun:
			if d.Outcome < Delayed || dl > delay {
				delay = dl
				d = Decision{Outcome: Delayed, Limit: i, Excess: excess}
			}
		case dl > 0:
			if d.Outcome < DelayedDryRun || (d.Outcome == DelayedDryRun && dl > dryDelay) {
				dryDelay = dl
				d = Decision{Outcome: DelayedDryRun, Limit: i, Excess: excess}
			}
		case d.Outcome == Passed:
			if rem := c.burst - excess; rem < bestRem {
				bestRem = rem
				d.Limit, d.Excess = i, excess
			}
		}
	}
	if !rejected {
		for i := 0; i < n; i++ {
			if !charge[i] {
				continue
			}
			if e := ents[i]; e != nil {
				e.excess, e.last = exc[i], now
				shards[i].touch(e)
			} else {
				insert(s.lims[i].c, shards[i], keys[i], exc[i], now)
			}
		}
		if d.Outcome == Delayed {
			d.Delay = time.Duration(delay) * time.Millisecond
		}
	}
	for i := 0; i < n; i++ {
		if shards[i] != nil {
			shards[i].mu.Unlock()
		}
	}
	return d
}
