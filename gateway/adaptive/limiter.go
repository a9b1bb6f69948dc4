package adaptive

import (
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Options.
const (
	DefaultInitialLimit      = 40
	DefaultMinLimit          = 4
	DefaultSampleInterval    = 100 * time.Microsecond
	DefaultRemeasureInterval = 50 * time.Second
	DefaultFailurePunishment = 1.0
)

// maxLimit bounds the limit whatever the estimates say.
const maxLimit = math.MaxInt32

// Options configure a Limiter. Zero fields take the defaults.
type Options struct {
	// Clock returns monotonic nanoseconds. Default: time since New.
	Clock func() int64
	// Rand returns a uniform value in [0, n) for the re-measure schedule.
	// Default: math/rand/v2's Int64N.
	Rand func(n int64) int64
	// InitialLimit is the limit until the first window closes (default
	// DefaultInitialLimit).
	InitialLimit int
	// MinLimit is the lowest limit ever set (default DefaultMinLimit), so a
	// service keeps a trickle of traffic to measure.
	MinLimit int
	// MaxLimit caps the limit; 0 means no cap.
	MaxLimit int
	// SampleInterval is the least time between two sampled responses
	// (default DefaultSampleInterval).
	SampleInterval time.Duration
	// RemeasureInterval: min latency is re-measured every
	// [RemeasureInterval/2, RemeasureInterval), default 25–50 s.
	RemeasureInterval time.Duration
	// FailurePunishment scales failed requests' latency in a window's
	// average (default DefaultFailurePunishment).
	FailurePunishment float64
}

// Limiter is one service's adaptive concurrency limit. It is safe for
// concurrent use.
type Limiter struct {
	// Hot: touched on every request.
	inflight   atomic.Int64
	limit      atomic.Int64
	succ       atomic.Int64 // successes in the current window, all of them
	lastSample atomic.Int64
	rejected   atomic.Uint64
	_          [24]byte

	now       func() int64
	rand      func(n int64) int64
	interval  int64
	minLimit  int64
	maxLimit  int64
	remeasure int64
	punish    float64

	mu sync.Mutex
	st state // guarded by mu
}

// Stats is a snapshot of a Limiter.
type Stats struct {
	// Limit is the current maximum of requests in flight.
	Limit int
	// InFlight is the number of requests admitted and not released.
	InFlight int
	// MinLatency is the no-load latency estimate; 0 until measured.
	MinLatency time.Duration
	// MaxQPS is the peak throughput estimate; 0 until measured.
	MaxQPS float64
	// ExploreRatio is the headroom over min latency × max QPS.
	ExploreRatio float64
	// Remeasuring: the limit is held at 0.9× no-load concurrency while min
	// latency is measured afresh.
	Remeasuring bool
	// NextRemeasure is how long until the next re-measure starts (0 while
	// one runs).
	NextRemeasure time.Duration
	// Windows counts closed sampling windows; Discarded those dropped for
	// having fewer than 100 samples.
	Windows, Discarded uint64
	// Rejected counts Acquire calls that returned false.
	Rejected uint64
}

// New returns a Limiter.
func New(opts Options) (*Limiter, error) {
	if opts.InitialLimit < 0 || opts.MinLimit < 0 || opts.MaxLimit < 0 || opts.SampleInterval < 0 ||
		opts.RemeasureInterval < 0 || opts.FailurePunishment < 0 || math.IsNaN(opts.FailurePunishment) ||
		math.IsInf(opts.FailurePunishment, 0) {
		return nil, errors.New("cannot create concurrency limiter: options must not be negative or NaN")
	}
	if opts.InitialLimit == 0 {
		opts.InitialLimit = DefaultInitialLimit
	}
	if opts.MinLimit == 0 {
		opts.MinLimit = DefaultMinLimit
	}
	if opts.MaxLimit == 0 {
		opts.MaxLimit = maxLimit
	}
	if opts.MinLimit > opts.MaxLimit || opts.InitialLimit > opts.MaxLimit || opts.MaxLimit > maxLimit {
		return nil, errors.New("cannot create concurrency limiter: want MinLimit and InitialLimit ≤ MaxLimit ≤ MaxInt32")
	}
	if opts.SampleInterval == 0 {
		opts.SampleInterval = DefaultSampleInterval
	}
	if opts.RemeasureInterval == 0 {
		opts.RemeasureInterval = DefaultRemeasureInterval
	}
	if opts.RemeasureInterval < 2 {
		return nil, errors.New("cannot create concurrency limiter: RemeasureInterval too short")
	}
	if opts.FailurePunishment == 0 {
		opts.FailurePunishment = DefaultFailurePunishment
	}
	if opts.Clock == nil {
		start := time.Now()
		opts.Clock = func() int64 { return int64(time.Since(start)) }
	}
	if opts.Rand == nil {
		opts.Rand = rand.Int64N
	}
	l := &Limiter{
		now: opts.Clock, rand: opts.Rand, interval: int64(opts.SampleInterval),
		minLimit: int64(opts.MinLimit), maxLimit: int64(opts.MaxLimit),
		remeasure: int64(opts.RemeasureInterval), punish: opts.FailurePunishment,
	}
	l.limit.Store(int64(max(opts.InitialLimit, opts.MinLimit)))
	now := l.now()
	l.lastSample.Store(now - l.interval)
	l.st = state{w: window{start: -1}, minLatency: -1, maxQPS: -1, explore: maxExplore, remeasureAt: l.nextRemeasure(now)}
	return l, nil
}

// Acquire admits a request if fewer than Limit are in flight. On false the
// caller answers 503 with Retry-After at once, before any upstream work,
// and does not call Release. On true it must call Release (or Abandon)
// exactly once.
func (l *Limiter) Acquire() bool {
	if l.inflight.Add(1) > l.limit.Load() {
		l.inflight.Add(-1)
		l.rejected.Add(1)
		return false
	}
	return true
}

// Release ends an admitted request. latency runs from Acquire to the
// upstream's answer (response headers); failed is true for a connect
// error, timeout, reset or 5xx — whatever says the upstream is not coping.
func (l *Limiter) Release(latency time.Duration, failed bool) {
	l.inflight.Add(-1)
	if !failed {
		l.succ.Add(1)
	}
	now := l.now()
	last := l.lastSample.Load()
	if now-last < l.interval || !l.lastSample.CompareAndSwap(last, now) {
		return
	}
	l.mu.Lock()
	l.sample(int64(latency), failed, now)
	l.mu.Unlock()
}

// Abandon ends an admitted request that never exercised the upstream (the
// client's body was unreadable or too large, the client went away before
// anything was sent): it frees the slot without sampling.
func (l *Limiter) Abandon() { l.inflight.Add(-1) }

// Limit is the current maximum of requests in flight.
func (l *Limiter) Limit() int { return int(l.limit.Load()) }

// InFlight is the number of admitted requests not yet released.
func (l *Limiter) InFlight() int { return int(l.inflight.Load()) }

// Stats returns a snapshot of the limiter's state.
func (l *Limiter) Stats() Stats {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	s := Stats{
		Limit: l.Limit(), InFlight: l.InFlight(), ExploreRatio: l.st.explore,
		Remeasuring: l.st.holding, Windows: l.st.windows, Discarded: l.st.discarded,
		Rejected: l.rejected.Load(),
	}
	if l.st.minLatency > 0 {
		s.MinLatency = time.Duration(l.st.minLatency)
	}
	if l.st.maxQPS > 0 {
		s.MaxQPS = l.st.maxQPS
	}
	if !l.st.holding {
		s.NextRemeasure = time.Duration(max(l.st.remeasureAt-now, 0))
	}
	return s
}

// nextRemeasure draws the start of the next re-measure after now.
func (l *Limiter) nextRemeasure(now int64) int64 {
	half := l.remeasure / 2
	return now + half + l.rand(l.remeasure-half)
}

// setLimit stores next clamped to [MinLimit, MaxLimit].
func (l *Limiter) setLimit(next int64) {
	l.limit.Store(min(max(next, l.minLimit), l.maxLimit))
}
