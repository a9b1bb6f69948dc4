package ratelimit

import (
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

// Registry is the domain in which zones are decided together: it owns the
// clock of its zones and hands out their table ids. Table ids are unique and
// increasing within a Registry and fix the global order in which a Set locks
// its zones' shards, so Sets listing the same zones in different orders
// ([A,B] on one route, [B,A] on another) cannot deadlock. A Set only accepts
// zones of one Registry. A gateway keeps one Registry for its lifetime so
// zones survive configuration reloads (Zone.With). It is safe for concurrent
// use.
type Registry struct {
	clock func() int64
	next  atomic.Uint64
}

// NewRegistry returns a Registry whose zones read time from clock
// (milliseconds). A nil clock is a monotonic millisecond counter started now.
func NewRegistry(clock func() int64) *Registry {
	if clock == nil {
		start := time.Now()
		clock = func() int64 { return int64(time.Since(start) / time.Millisecond) }
	}
	return &Registry{clock: clock}
}

// Now returns the Registry's clock reading in milliseconds.
func (r *Registry) Now() int64 { return r.clock() }

// NewZone validates l and returns a zone of r with an empty state table; see
// the package function NewZone. maxKeys 0 means DefaultMaxKeys.
func (r *Registry) NewZone(l Limit, maxKeys int) (*Zone, error) {
	if maxKeys < 0 {
		return nil, errors.New("cannot create rate limit zone: MaxKeys must not be negative")
	}
	z, err := r.newZone(l, maxKeys)
	if err != nil {
		return nil, fmt.Errorf("cannot create rate limit zone: %w", err)
	}
	return z, nil
}

func (r *Registry) newZone(l Limit, maxKeys int) (*Zone, error) {
	c, err := makeConf(l)
	if err != nil {
		return nil, err
	}
	if maxKeys == 0 {
		maxKeys = DefaultMaxKeys
	}
	return &Zone{conf: c, tab: newTable(r.next.Add(1), maxKeys), reg: r}, nil
}

// limitConf is a validated Limit with its derived values.
type limitConf struct {
	Limit
	burst  int64 // Burst*1000
	delay  int64 // Delay*1000, or MaxInt64 for nodelay
	maxMs  int64 // largest ms for which Rate*ms does not overflow
	policy string
}

// makeConf validates l and fills in defaults (Status 429). l.Name must be set.
func makeConf(l Limit) (limitConf, error) {
	if l.Name == "" {
		return limitConf{}, errors.New("limit needs a name")
	}
	if err := checkName(l.Name); err != nil {
		return limitConf{}, fmt.Errorf("limit %q: %w", l.Name, err)
	}
	if l.Rate <= 0 || l.Rate > MaxRate {
		return limitConf{}, fmt.Errorf("limit %q: rate %d out of range 1..%d", l.Name, l.Rate, int64(MaxRate))
	}
	if l.Burst < 0 || l.Burst > MaxBurst {
		return limitConf{}, fmt.Errorf("limit %q: burst %d out of range 0..%d", l.Name, l.Burst, MaxBurst)
	}
	if l.Delay < NoDelay || l.Delay > MaxBurst {
		return limitConf{}, fmt.Errorf("limit %q: delay %d out of range -1..%d", l.Name, l.Delay, MaxBurst)
	}
	if l.Status == 0 {
		l.Status = 429
	}
	if l.Status < 400 || l.Status > 599 {
		return limitConf{}, fmt.Errorf("limit %q: status %d out of range 400..599", l.Name, l.Status)
	}
	c := limitConf{Limit: l, burst: l.Burst * 1000, delay: l.Delay * 1000, maxMs: math.MaxInt64 / l.Rate}
	if l.Delay == NoDelay {
		c.delay = math.MaxInt64
	}
	c.policy = policyItem(l.Name, l.Rate)
	return c, nil
}

// drain is Rate*ms/1000 (nginx integer division) for ms >= 0, saturating
// instead of overflowing: any saturated value exceeds every possible excess.
func (c *limitConf) drain(ms int64) int64 {
	if ms > c.maxMs {
		return math.MaxInt64 / 2
	}
	return c.Rate * ms / 1000
}

// Zone is one named limit — nginx "limit_req_zone" plus the "limit_req"
// parameters — together with its per-key state table. Every Set that lists
// the zone charges the same table, so routes referencing one zone share one
// budget. A Zone is immutable; With returns a new view of the same state with
// other settings, which is how configuration reloads keep state. It is safe
// for concurrent use.
type Zone struct {
	conf limitConf
	tab  *table
	reg  *Registry
}

// NewZone validates l like New does (l.Name is required here; Status 0
// becomes 429) and returns a zone with an empty state table. opts.Registry
// selects the Registry (see Options); without it the zone gets a Registry of
// its own built from opts.Clock.
func NewZone(l Limit, opts Options) (*Zone, error) {
	reg := opts.Registry
	if reg == nil {
		reg = NewRegistry(opts.Clock)
	} else if opts.Clock != nil {
		return nil, errors.New("cannot create rate limit zone: Clock must be nil when Registry is set (the clock is the Registry's)")
	}
	return reg.NewZone(l, opts.MaxKeys)
}

// Limit returns the zone's normalized settings.
func (z *Zone) Limit() Limit { return z.conf.Limit }

// Name returns the zone's name.
func (z *Zone) Name() string { return z.conf.Name }

// Registry returns the Registry the zone belongs to.
func (z *Zone) Registry() *Registry { return z.reg }

// With returns a new Zone with settings l that shares z's key state (and
// hence its lock order): every key keeps its excess and last charge time and
// from now on drains at l.Rate when decided through the new Zone. Rate,
// burst, delay, status, dry-run and name may all change; an empty l.Name keeps
// z's name. z itself is unchanged and stays usable (an old configuration
// snapshot may still decide with it while a new one takes over).
func (z *Zone) With(l Limit) (*Zone, error) {
	if l.Name == "" {
		l.Name = z.conf.Name
	}
	c, err := makeConf(l)
	if err != nil {
		return nil, fmt.Errorf("cannot change rate limit zone %q: %w", z.conf.Name, err)
	}
	return &Zone{conf: c, tab: z.tab, reg: z.reg}, nil
}

// SharesState reports whether z and o are views of the same state table.
func (z *Zone) SharesState(o *Zone) bool { return z.tab == o.tab }

// Sweep drops every key whose excess has fully drained at z's rate; call it
// periodically to release memory early. It returns the number dropped.
func (z *Zone) Sweep() int { return z.tab.sweep(&z.conf, z.reg.clock()) }

// Len returns the number of keys held in the zone's state table.
func (z *Zone) Len() int { return z.tab.len() }

// Policy returns the zone's RateLimit-Policy list item (see headers.go).
func (z *Zone) Policy() string { return z.conf.policy }
