package acl

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// Banner places bans; *BanManager implements it.
type Banner interface {
	BanWith(ctx context.Context, req BanRequest) (Ban, error)
}

// Defaults for TrackerOptions.
const (
	DefaultTrackerMaxKeys = 100000
	DefaultTrackerQueue   = 1024
	DefaultIPv6Bits       = 64
	trackerShards         = 32
)

// TrackerOptions configures NewTracker.
type TrackerOptions struct {
	// Threshold is N: the number of hits within Window that triggers a ban. Required (≥ 1).
	Threshold int
	// Window is W. Required.
	Window time.Duration
	// BanFor is D, the ban's TTL. Required.
	BanFor time.Duration
	// Reason is stored with the ban (default "rate limited N times within W").
	Reason string
	// By is stored as the ban's CreatedBy (default "auto").
	By string
	// Route, when set, scopes the bans to one route.
	Route string
	// IPv4Bits and IPv6Bits are the prefix lengths a client is counted and
	// banned by (defaults 32 and DefaultIPv6Bits: an IPv6 client's /64).
	IPv4Bits, IPv6Bits int
	// MaxKeys bounds the number of tracked clients (default DefaultTrackerMaxKeys).
	// When a shard is full, clients idle for longer than Window are evicted,
	// or else an arbitrary one.
	MaxKeys int
	// Queue is how many bans may wait for Run (default DefaultTrackerQueue);
	// when full, a triggered ban is dropped and the client is counted anew.
	Queue int
	// OpTimeout bounds each ban write (default DefaultOpTimeout).
	OpTimeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives ban failures; nil discards them.
	Logger *slog.Logger
}

// Tracker bans a client for D once it has been rate limited N times within a
// sliding window W. Per client it keeps the times of its last N hits in a
// ring (N int64s): the N-th hit triggers when the oldest of the last N is no
// older than W, which is an exact sliding window — hits spread over more than
// W never trigger. After triggering, the client's ring is cleared.
//
// Hit is safe for concurrent use, never blocks on the store and allocates
// only when it starts tracking a new client; Run places the bans.
type Tracker struct {
	opts   TrackerOptions
	banner Banner
	log    *slog.Logger
	seed   maphash.Seed
	shards [trackerShards]trackerShard
	queue  chan BanRequest
	window int64
}

type trackerShard struct {
	mu   sync.Mutex
	keys map[netip.Prefix]*hitRing
	max  int
}

type hitRing struct {
	times []int64 // unix nanos, ring of len Threshold
	next  int     // index of the oldest slot
	n     int     // filled slots
	last  int64
}

// NewTracker returns a Tracker that bans through b.
func NewTracker(opts TrackerOptions, b Banner) (*Tracker, error) {
	switch {
	case b == nil:
		return nil, errors.New("cannot create tracker: nil banner")
	case opts.Threshold < 1:
		return nil, fmt.Errorf("cannot create tracker: threshold must be at least 1, got %d", opts.Threshold)
	case opts.Window <= 0 || opts.BanFor <= 0:
		return nil, fmt.Errorf("cannot create tracker: window (%v) and ban duration (%v) must be positive", opts.Window, opts.BanFor)
	}
	if opts.Reason == "" {
		opts.Reason = fmt.Sprintf("rate limited %d times within %v", opts.Threshold, opts.Window)
	}
	if opts.By == "" {
		opts.By = "auto"
	}
	if opts.IPv4Bits <= 0 || opts.IPv4Bits > 32 {
		opts.IPv4Bits = 32
	}
	if opts.IPv6Bits <= 0 || opts.IPv6Bits > 128 {
		opts.IPv6Bits = DefaultIPv6Bits
	}
	if opts.MaxKeys <= 0 {
		opts.MaxKeys = DefaultTrackerMaxKeys
	}
	if opts.Queue <= 0 {
		opts.Queue = DefaultTrackerQueue
	}
	if opts.OpTimeout <= 0 {
		opts.OpTimeout = DefaultOpTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	t := &Tracker{
		opts: opts, banner: b, seed: maphash.MakeSeed(),
		log:    logger.With("component", "acl", "part", "tracker"),
		queue:  make(chan BanRequest, opts.Queue),
		window: int64(opts.Window),
	}
	per := max(1, (opts.MaxKeys+trackerShards-1)/trackerShards)
	for i := range t.shards {
		t.shards[i].keys = make(map[netip.Prefix]*hitRing)
		t.shards[i].max = per
	}
	return t, nil
}

// Key returns the prefix a client is counted and banned by.
func (t *Tracker) Key(addr netip.Addr) netip.Prefix {
	addr = addr.Unmap().WithZone("")
	bits := t.opts.IPv4Bits
	if addr.Is6() {
		bits = t.opts.IPv6Bits
	}
	p, _ := addr.Prefix(bits)
	return p
}

// Hit records that addr was rate limited. It returns true when this hit
// reached the threshold and a ban was queued for Run.
func (t *Tracker) Hit(addr netip.Addr) bool {
	if !addr.IsValid() {
		return false
	}
	key := t.Key(addr)
	now := t.opts.Now().UnixNano()
	a := key.Addr().As16()
	sh := &t.shards[maphash.Bytes(t.seed, a[:])%trackerShards]

	sh.mu.Lock()
	r := sh.keys[key]
	if r == nil {
		if len(sh.keys) >= sh.max && !t.evict(sh, now) {
			sh.mu.Unlock()
			return false
		}
		r = &hitRing{times: make([]int64, t.opts.Threshold)}
		sh.keys[key] = r
	}
	n := len(r.times)
	r.last = now
	if r.n < n {
		r.times[(r.next+r.n)%n] = now
		r.n++
	} else {
		r.times[r.next] = now
		r.next = (r.next + 1) % n
	}
	trigger := r.n == n && now-r.times[r.next] <= t.window
	if trigger {
		delete(sh.keys, key)
	}
	sh.mu.Unlock()
	if !trigger {
		return false
	}
	req := BanRequest{
		Prefix: key, TTL: t.opts.BanFor, Reason: t.opts.Reason,
		By: t.opts.By, Route: t.opts.Route, Auto: true,
	}
	select {
	case t.queue <- req:
		return true
	default:
		t.log.Warn("auto-ban queue full, dropping ban", "prefix", key)
		return false
	}
}

// evict drops clients idle for longer than the window; if none is, it drops
// one arbitrary client. It reports whether room was made.
func (t *Tracker) evict(sh *trackerShard, now int64) bool {
	for k, r := range sh.keys {
		if now-r.last > t.window {
			delete(sh.keys, k)
		}
	}
	if len(sh.keys) < sh.max {
		return true
	}
	for k := range sh.keys {
		delete(sh.keys, k)
		return true
	}
	return len(sh.keys) < sh.max
}

// Len returns the number of tracked clients.
func (t *Tracker) Len() int {
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		n += len(sh.keys)
		sh.mu.Unlock()
	}
	return n
}

// Run places queued bans until ctx is done, then returns nil.
func (t *Tracker) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case req := <-t.queue:
			cctx, cancel := context.WithTimeout(ctx, t.opts.OpTimeout)
			_, err := t.banner.BanWith(cctx, req)
			cancel()
			if err != nil && ctx.Err() == nil {
				t.log.Warn("cannot place auto ban", "prefix", req.Prefix, "err", err)
			}
		}
	}
}
