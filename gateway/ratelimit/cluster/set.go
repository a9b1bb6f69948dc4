package cluster

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/wharfhq/wharf/gateway/ratelimit"
)

// Set is the zones of one route decided together cluster-wide. It is
// immutable (apart from its cached fallback views) and safe for concurrent
// use.
type Set struct {
	c      *Cluster
	base   *ratelimit.Set
	zones  []*ratelimit.Zone
	limits []ratelimit.Limit
	// keyPrefix[i] is the Redis key prefix of zone i; args[i] its five
	// static script arguments.
	keyPrefix []string
	args      [][]any
	view      atomic.Pointer[localView]
}

// localView is the fallback: the zones at Rate/n.
type localView struct {
	n   int64
	set *ratelimit.Set
}

// NewSet returns a cluster Set of 1..ratelimit.MaxLimits zones (the rules of
// ratelimit.NewSet), whose zone names must be distinct: in Redis a zone is its
// name. Keys passed to Decide and Decision.Limit follow the order given here.
func (c *Cluster) NewSet(zones ...*ratelimit.Zone) (*Set, error) {
	base, err := ratelimit.NewSet(zones...)
	if err != nil {
		return nil, fmt.Errorf("cannot create cluster rate limit set: %w", err)
	}
	s := &Set{c: c, base: base, zones: base.Zones()}
	seen := make(map[string]bool, len(zones))
	for i, z := range s.zones {
		l := z.Limit()
		if seen[l.Name] {
			return nil, fmt.Errorf("cannot create cluster rate limit set: zone name %q listed twice", l.Name)
		}
		seen[l.Name] = true
		delay := l.Delay * 1000
		if l.Delay == ratelimit.NoDelay {
			delay = -1
		}
		dry := "0"
		if l.DryRun {
			dry = "1"
		}
		s.limits = append(s.limits, l)
		s.keyPrefix = append(s.keyPrefix, c.opts.Prefix+strconv.Itoa(len(l.Name))+":"+l.Name+":")
		s.args = append(s.args, []any{
			strconv.FormatInt(l.Rate, 10), strconv.FormatInt(l.Burst*1000, 10),
			strconv.FormatInt(delay, 10), dry, strconv.Itoa(i),
		})
	}
	s.view.Store(&localView{n: 1, set: base})
	return s, nil
}

// Zones returns the Set's zones in order.
func (s *Set) Zones() []*ratelimit.Zone { return s.base.Zones() }

// Decide evaluates one request cluster-wide; see ratelimit.Set.Decide for the
// meaning of keys and the Decision. When Redis fails or does not answer within
// Timeout the request is decided locally at Rate/N, and so is every request in
// fallback mode (see the package documentation). Decide never fails.
func (s *Set) Decide(keys [][]byte) ratelimit.Decision {
	c := s.c
	if c.Mode() == ModeCluster {
		d, err := s.remote(keys)
		c.decided(err)
		if err == nil {
			c.remoteDecisions.Inc()
			if d.Outcome != ratelimit.Rejected {
				// Shadow-charge the local Rate/N view with what this node
				// admits, so a decision that must be made locally (a slow
				// Redis, a fallback) starts from this node's recent share of
				// the traffic instead of a fresh burst. The local outcome is
				// ignored; it costs a local decision (~50 ns) next to a Redis
				// round trip.
				s.local(keys)
			}
			return d
		}
	}
	c.localDecisions.Inc()
	return s.local(keys)
}

func (s *Set) remote(keys [][]byte) (ratelimit.Decision, error) {
	n := min(len(keys), len(s.zones))
	m := 0
	for i := 0; i < n; i++ {
		if len(keys[i]) > 0 {
			m++
		}
	}
	if m == 0 {
		return ratelimit.Decision{Limit: -1}, nil
	}
	now := ""
	if s.c.clock != nil {
		now = strconv.FormatInt(s.c.clock(), 10)
	}
	rkeys := make([]string, 0, m)
	args := make([]any, 0, 2+5*m)
	args = append(args, now, s.c.margin)
	for i := 0; i < n; i++ {
		if len(keys[i]) > 0 {
			rkeys = append(rkeys, s.keyPrefix[i]+string(keys[i]))
			args = append(args, s.args[i]...)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.c.opts.Timeout)
	defer cancel()
	res, err := s.c.decide.Run(ctx, s.c.rdb, rkeys, args...).Int64Slice()
	if err != nil {
		return ratelimit.Decision{}, fmt.Errorf("cannot decide in redis: %w", err)
	}
	if len(res) != 5 || res[0] < 0 || res[0] > int64(ratelimit.Rejected) || res[1] < 0 || res[1] >= int64(n) {
		return ratelimit.Decision{}, fmt.Errorf("cannot decide in redis: unexpected reply %v", res)
	}
	d := ratelimit.Decision{Outcome: ratelimit.Outcome(res[0]), Limit: int(res[1]), Excess: res[2]}
	switch d.Outcome {
	case ratelimit.Delayed:
		d.Delay = time.Duration(res[3]) * time.Millisecond
	case ratelimit.Rejected:
		d.Status = s.limits[d.Limit].Status
		d.RetryAfter = time.Duration(res[4]) * time.Millisecond
	case ratelimit.RejectedDryRun:
		d.RetryAfter = time.Duration(res[4]) * time.Millisecond
	}
	return d, nil
}

// local decides with the zones' views at Rate/N, rebuilding them when N
// changed. Views share the zones' state tables, so a rebuild keeps state.
func (s *Set) local(keys [][]byte) ratelimit.Decision {
	n := s.c.nodes.Load()
	v := s.view.Load()
	if v.n != n {
		v = s.rebuild(n)
	}
	return v.set.Decide(keys)
}

func (s *Set) rebuild(n int64) *localView {
	v := &localView{n: n, set: s.base}
	views := make([]*ratelimit.Zone, len(s.zones))
	for i, z := range s.zones {
		l := s.limits[i]
		l.Rate = max(l.Rate/n, 1)
		w, err := z.With(l)
		if err != nil { // cannot happen: l was valid with a larger rate
			s.c.log.Error("cannot make fallback zone; using the full rate", "zone", l.Name, "err", err)
			s.view.Store(v)
			return v
		}
		views[i] = w
	}
	set, err := ratelimit.NewSet(views...)
	if err != nil { // cannot happen: views keep the tables and Registry of valid zones
		s.c.log.Error("cannot make fallback set; using the full rate", "err", err)
	} else {
		v.set = set
	}
	s.view.Store(v)
	return v
}

// PolicyField returns the RateLimit-Policy field value of the Set (the
// zones' cluster-wide settings, also in fallback mode).
func (s *Set) PolicyField() string { return s.base.PolicyField() }

// AppendRateLimit appends the RateLimit field value for a decision of this
// Set to dst; see ratelimit.Set.AppendRateLimit. It uses the zones'
// cluster-wide rates, also for decisions made in fallback mode.
func (s *Set) AppendRateLimit(dst []byte, d ratelimit.Decision) []byte {
	return s.base.AppendRateLimit(dst, d)
}

// RateLimitField is AppendRateLimit returning a string.
func (s *Set) RateLimitField(d ratelimit.Decision) string { return s.base.RateLimitField(d) }
