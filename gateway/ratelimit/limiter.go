package ratelimit

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// MaxLimits is the largest number of limits one Limiter evaluates together.
const MaxLimits = 16

// NoDelay is the Limit.Delay value for nginx "nodelay".
const NoDelay = -1

// DefaultMaxKeys is the per-limit key bound used when Options.MaxKeys is 0.
const DefaultMaxKeys = 1 << 20

// Limit is one nginx limit_req: "limit_req_zone ... rate=Rate" plus
// "limit_req zone=Name burst=Burst [delay=Delay|nodelay]".
type Limit struct {
	Name   string // policy name for RateLimit-Policy / RateLimit fields; default "limit<i>"
	Rate   int64  // thousandths of a request per second, see ParseRate
	Burst  int64  // requests, 0..MaxBurst
	Delay  int64  // requests forwarded without delay; 0 = nginx default; NoDelay (-1) = nodelay
	DryRun bool   // limit_req_dry_run: never reject or delay, only report
	Status int    // limit_req_status, 400..599; 0 = 429
}

// Options configure a Limiter.
type Options struct {
	// Clock returns the current time in milliseconds. Default: a monotonic
	// millisecond counter started at New.
	Clock func() int64
	// MaxKeys bounds the number of keys kept per limit (default
	// DefaultMaxKeys). When full, the stalest key is dropped.
	MaxKeys int
}

// Outcome is the $limit_req_status value of a decision.
type Outcome uint8

const (
	Passed Outcome = iota
	DelayedDryRun
	RejectedDryRun
	Delayed
	Rejected
)

var outcomeNames = [...]string{"PASSED", "DELAYED_DRY_RUN", "REJECTED_DRY_RUN", "DELAYED", "REJECTED"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// Decision is the result of Limiter.Decide.
type Decision struct {
	// Outcome is the most severe outcome over all limits, in the order
	// REJECTED > DELAYED > REJECTED_DRY_RUN > DELAYED_DRY_RUN > PASSED.
	Outcome Outcome
	// Delay is how long to hold the request before forwarding it (DELAYED).
	Delay time.Duration
	// Limit is the index of the limit that decided the outcome: the
	// rejecting limit, the largest-delay limit, or (PASSED) the limit with
	// the fewest remaining requests. -1 when every limit was skipped.
	Limit int
	// Status is the HTTP status to answer with when Outcome is Rejected.
	Status int
	// Excess is the excess (thousandths of a request) of Limit's key after
	// the decision; for a rejection, the uncharged current excess.
	Excess int64
	// RetryAfter is, for REJECTED and REJECTED_DRY_RUN, how long until the
	// same request would fit within the burst again.
	RetryAfter time.Duration
}

// Allowed reports whether the request may be forwarded (possibly after Delay).
func (d Decision) Allowed() bool { return d.Outcome != Rejected }

// RetryAfterSeconds is the Retry-After header value for a rejection: the
// RetryAfter duration rounded up to whole seconds, at least 1. It is 0 when
// the decision is not a rejection.
func (d Decision) RetryAfterSeconds() int64 {
	if d.Outcome != Rejected && d.Outcome != RejectedDryRun {
		return 0
	}
	s := int64((d.RetryAfter + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}

type limitConf struct {
	Limit
	burst  int64 // Burst*1000
	delay  int64 // Delay*1000, or MaxInt64 for nodelay
	policy string
}

// Limiter is a set of nginx limit_req limits evaluated together. It is safe
// for concurrent use.
type Limiter struct {
	clock  func() int64
	limits []limitConf
	tables []*table
}

// New validates limits and returns a Limiter.
func New(limits []Limit, opts Options) (*Limiter, error) {
	if len(limits) == 0 || len(limits) > MaxLimits {
		return nil, fmt.Errorf("cannot create rate limiter: need 1..%d limits, got %d", MaxLimits, len(limits))
	}
	if opts.MaxKeys < 0 {
		return nil, errors.New("cannot create rate limiter: MaxKeys must not be negative")
	}
	if opts.MaxKeys == 0 {
		opts.MaxKeys = DefaultMaxKeys
	}
	l := &Limiter{clock: opts.Clock}
	if l.clock == nil {
		start := time.Now()
		l.clock = func() int64 { return int64(time.Since(start) / time.Millisecond) }
	}
	for i, lim := range limits {
		if lim.Name == "" {
			lim.Name = fmt.Sprintf("limit%d", i)
		}
		if err := checkName(lim.Name); err != nil {
			return nil, fmt.Errorf("cannot create rate limiter: limit %d: %w", i, err)
		}
		if lim.Rate <= 0 || lim.Rate > MaxRate {
			return nil, fmt.Errorf("cannot create rate limiter: limit %q: rate %d out of range 1..%d", lim.Name, lim.Rate, int64(MaxRate))
		}
		if lim.Burst < 0 || lim.Burst > MaxBurst {
			return nil, fmt.Errorf("cannot create rate limiter: limit %q: burst %d out of range 0..%d", lim.Name, lim.Burst, MaxBurst)
		}
		if lim.Delay < NoDelay || lim.Delay > MaxBurst {
			return nil, fmt.Errorf("cannot create rate limiter: limit %q: delay %d out of range -1..%d", lim.Name, lim.Delay, MaxBurst)
		}
		if lim.Status == 0 {
			lim.Status = 429
		}
		if lim.Status < 400 || lim.Status > 599 {
			return nil, fmt.Errorf("cannot create rate limiter: limit %q: status %d out of range 400..599", lim.Name, lim.Status)
		}
		c := limitConf{Limit: lim, burst: lim.Burst * 1000, delay: lim.Delay * 1000}
		if lim.Delay == NoDelay {
			c.delay = math.MaxInt64
		}
		c.policy = policyItem(lim.Name, lim.Rate)
		l.limits = append(l.limits, c)
		l.tables = append(l.tables, newTable(lim.Rate, opts.MaxKeys))
	}
	return l, nil
}

// Limits returns the normalized limits (defaults filled in).
func (l *Limiter) Limits() []Limit {
	out := make([]Limit, len(l.limits))
	for i := range l.limits {
		out[i] = l.limits[i].Limit
	}
	return out
}

// Decide evaluates one request. keys[i] is the key for limit i; an empty or
// missing key skips that limit. Keys are not retained (a new key is copied).
//
// All shards involved are locked in limit order (each limit has its own
// shards, so the order is global and deadlock-free), every limit is
// evaluated, and only if none rejects are they all charged (keys beyond the
// number of limits are ignored). A rejection thus
// leaves all state unchanged, with no window for another request to slip in
// between evaluation and commit.
func (l *Limiter) Decide(keys [][]byte) Decision {
	now := l.clock()
	n := len(l.limits)
	if len(keys) < n {
		n = len(keys)
	}
	var (
		shards [MaxLimits]*shard
		ents   [MaxLimits]*entry
		exc    [MaxLimits]int64
		charge [MaxLimits]bool
	)
	d := Decision{Limit: -1}
	var bestRem int64 = math.MaxInt64
	var dryDelay int64 = -1
	var delay int64
	rejected := false
	locked := 0
	for i := 0; i < n; i++ {
		key := keys[i]
		if len(key) == 0 {
			continue
		}
		c := &l.limits[i]
		t := l.tables[i]
		s := t.shardFor(key)
		s.mu.Lock()
		shards[i] = s
		locked = i + 1
		e := s.m[string(key)]
		ents[i] = e
		var excess, ms int64
		if e != nil {
			ms = now - e.last
			if ms < -60000 {
				ms = 1
			} else if ms < 0 {
				ms = 0
			}
			excess = e.excess - t.drain(ms) + 1000
			if excess < 0 {
				excess = 0
			}
		}
		if excess > c.burst {
			// Ceil of the total ms since e.last after which the excess fits.
			need := ((e.excess+1000-c.burst)*1000 + t.rate - 1) / t.rate
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
			dl = (excess - c.delay) * 1000 / t.rate
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
				l.tables[i].insert(shards[i], keys[i], exc[i], now)
			}
		}
		if d.Outcome == Delayed {
			d.Delay = time.Duration(delay) * time.Millisecond
		}
	}
	for i := 0; i < locked; i++ {
		if shards[i] != nil {
			shards[i].mu.Unlock()
		}
	}
	return d
}

// Sweep drops every key whose excess has fully drained; call it periodically
// to release memory early. It returns the number of keys dropped.
func (l *Limiter) Sweep() int {
	now := l.clock()
	n := 0
	for _, t := range l.tables {
		n += t.sweep(now)
	}
	return n
}

// Len returns the number of keys held for limit i.
func (l *Limiter) Len(i int) int { return l.tables[i].len() }
