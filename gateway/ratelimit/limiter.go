package ratelimit

import (
	"errors"
	"fmt"
	"time"
)

// MaxLimits is the largest number of limits (zones) one Set or Limiter
// evaluates together.
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

// Options configure a Limiter (New) or a Zone (NewZone).
type Options struct {
	// Clock returns the current time in milliseconds. Default: a monotonic
	// millisecond counter started at New / NewZone. With Registry set, the
	// clock is the Registry's and Clock must be nil.
	Clock func() int64
	// MaxKeys bounds the number of keys kept per limit (default
	// DefaultMaxKeys). When full, the stalest key is dropped.
	MaxKeys int
	// Registry is the Registry new zones join. Zones decided together in
	// one Set must come from the same Registry. Nil: a new Registry (with
	// Clock) of their own.
	Registry *Registry
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

// Decision is the result of Set.Decide (and Limiter.Decide).
type Decision struct {
	// Outcome is the most severe outcome over all limits, in the order
	// REJECTED > DELAYED > REJECTED_DRY_RUN > DELAYED_DRY_RUN > PASSED.
	Outcome Outcome
	// Delay is how long to hold the request before forwarding it (DELAYED).
	Delay time.Duration
	// Limit is the index (in the Set's zone order, which is the caller's
	// keys order) of the limit that decided the outcome: the
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

// Limiter is a fixed Set of nginx limit_req limits, each with a zone of its
// own. It is a thin wrapper kept for callers that do not share zones; see Zone
// and Set. It is safe for concurrent use.
type Limiter struct {
	set *Set
}

// New validates limits and returns a Limiter: one new Zone per limit (an
// empty Name becomes "limit<i>"), all in opts.Registry or else in a new
// Registry with opts.Clock.
func New(limits []Limit, opts Options) (*Limiter, error) {
	if len(limits) == 0 || len(limits) > MaxLimits {
		return nil, fmt.Errorf("cannot create rate limiter: need 1..%d limits, got %d", MaxLimits, len(limits))
	}
	if opts.MaxKeys < 0 {
		return nil, errors.New("cannot create rate limiter: MaxKeys must not be negative")
	}
	reg := opts.Registry
	if reg == nil {
		reg = NewRegistry(opts.Clock)
	} else if opts.Clock != nil {
		return nil, errors.New("cannot create rate limiter: Clock must be nil when Registry is set (the clock is the Registry's)")
	}
	zones := make([]*Zone, len(limits))
	for i, lim := range limits {
		if lim.Name == "" {
			lim.Name = fmt.Sprintf("limit%d", i)
		}
		z, err := reg.newZone(lim, opts.MaxKeys)
		if err != nil {
			return nil, fmt.Errorf("cannot create rate limiter: %w", err)
		}
		zones[i] = z
	}
	set, err := NewSet(zones...)
	if err != nil {
		return nil, fmt.Errorf("cannot create rate limiter: %w", err)
	}
	return &Limiter{set: set}, nil
}

// Set returns the Set the Limiter decides with; its zones are the Limiter's
// limits in order.
func (l *Limiter) Set() *Set { return l.set }

// Limits returns the normalized limits (defaults filled in).
func (l *Limiter) Limits() []Limit {
	out := make([]Limit, len(l.set.zones))
	for i, z := range l.set.zones {
		out[i] = z.conf.Limit
	}
	return out
}

// Decide evaluates one request; see Set.Decide. keys[i] is the key for
// limit i; an empty or missing key skips that limit.
func (l *Limiter) Decide(keys [][]byte) Decision { return l.set.Decide(keys) }

// Sweep drops every key whose excess has fully drained; call it periodically
// to release memory early. It returns the number of keys dropped.
func (l *Limiter) Sweep() int {
	n := 0
	for _, z := range l.set.zones {
		n += z.Sweep()
	}
	return n
}

// Len returns the number of keys held for limit i.
func (l *Limiter) Len(i int) int { return l.set.zones[i].Len() }
