package balance

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of EjectorOptions.
const (
	DefaultEjectFailures = 5
	DefaultEjectBase     = 5 * time.Second
	DefaultEjectMax      = 2 * time.Minute
)

// EjectorOptions configure an Ejector. Zero fields take the defaults.
type EjectorOptions struct {
	// Clock returns monotonic nanoseconds. Default: time since NewEjector.
	Clock func() int64
	// Failures is the number of consecutive failures that ejects an
	// instance (default DefaultEjectFailures).
	Failures int
	// Base is the first ejection's length (default DefaultEjectBase); the
	// k-th ejection in a row lasts Base × 2^(k-1), at most Max.
	Base time.Duration
	// Max caps an ejection's length (default DefaultEjectMax).
	Max time.Duration
	// Quiet is how long an instance must stay in service after returning
	// for its next ejection to start again from Base (default Max).
	Quiet time.Duration
}

// Ejector is passive health for n instances: the gateway reports each
// request's outcome, and Failures consecutive failures (connect errors and
// 5xx) take the instance out of Eligible for a back-off period. The
// instance returns by itself when the period ends; any success resets its
// failure count. Ejections in a row double the period (Base, 2×Base, ...
// capped at Max); an instance that stayed in service for Quiet since it last
// returned starts again from Base.
//
// Failures reported while an instance is ejected (requests already in
// flight) do not extend the ejection. The Ejector never refuses to eject:
// when every instance is out, Eligible is empty and the caller decides
// (fail over to another room, or route anyway).
type Ejector struct {
	now      func() int64
	failures int32
	base     int64
	max      int64
	quiet    int64
	ejected  atomic.Int32    // instances out of service
	next     atomic.Int64    // earliest end of a current ejection
	bits     []atomic.Uint64 // ejected instances, as a Mask
	full     Mask            // every instance
	mu       sync.Mutex      // serialises ejections and returns
	inst     []ejectState
}

type ejectState struct {
	fails atomic.Int32
	_     [60]byte // fails is written per failure: own cache line
	// Guarded by Ejector.mu:
	until    int64 // clock time the ejection ends; 0 = in service
	level    int   // ejections in a row
	returned int64 // when the last ejection ended
	total    uint64
}

// EjectionState describes one instance's passive health.
type EjectionState struct {
	// Failures is the current run of consecutive failures.
	Failures int
	// Ejected reports whether the instance is out of service now.
	Ejected bool
	// Remaining is how long the current ejection still lasts.
	Remaining time.Duration
	// Level is the number of ejections in a row (the next one lasts
	// Base × 2^Level, capped).
	Level int
	// Ejections counts all ejections of the instance.
	Ejections uint64
}

// NewEjector returns an Ejector for n instances, all in service.
func NewEjector(n int, opts EjectorOptions) (*Ejector, error) {
	if n < 1 {
		return nil, errors.New("cannot create ejector: no instances")
	}
	if opts.Failures < 0 || opts.Failures > math.MaxInt32 || opts.Base < 0 || opts.Max < 0 || opts.Quiet < 0 {
		return nil, errors.New("cannot create ejector: Failures must be in 0..MaxInt32, Base, Max and Quiet must not be negative")
	}
	if opts.Failures == 0 {
		opts.Failures = DefaultEjectFailures
	}
	if opts.Base == 0 {
		opts.Base = DefaultEjectBase
	}
	if opts.Max == 0 {
		opts.Max = DefaultEjectMax
	}
	if opts.Max < opts.Base {
		return nil, fmt.Errorf("cannot create ejector: Max %s is below Base %s", opts.Max, opts.Base)
	}
	if opts.Quiet == 0 {
		opts.Quiet = opts.Max
	}
	if opts.Clock == nil {
		start := time.Now()
		opts.Clock = func() int64 { return int64(time.Since(start)) }
	}
	return &Ejector{
		now: opts.Clock, failures: int32(opts.Failures), base: int64(opts.Base),
		max: int64(opts.Max), quiet: int64(opts.Quiet), inst: make([]ejectState, n),
		bits: make([]atomic.Uint64, MaskWords(n)), full: make(Mask, MaskWords(n)).Fill(n),
	}, nil
}

// Len is the number of instances.
func (e *Ejector) Len() int { return len(e.inst) }

// Report records the outcome of one request to instance i: ok is false for
// a connect error or a 5xx answer. It reports whether this failure ejected
// the instance (for logs and counters).
func (e *Ejector) Report(i int, ok bool) bool {
	s := &e.inst[i]
	if ok {
		if s.fails.Load() != 0 {
			s.fails.Store(0)
		}
		return false
	}
	if s.fails.Add(1) < e.failures {
		return false
	}
	return e.eject(i)
}

func (e *Ejector) eject(i int) bool {
	s := &e.inst[i]
	e.mu.Lock()
	defer e.mu.Unlock()
	if s.fails.Load() < e.failures {
		return false // a success or another ejection reset the run meanwhile
	}
	s.fails.Store(0)
	now := e.now()
	if s.until != 0 {
		if now < s.until {
			return false // already out
		}
		e.release(i, s) // ran out, not yet returned by Eligible
	}
	if s.level > 0 && now-s.returned >= e.quiet {
		s.level = 0
	}
	d := e.base
	for k := 0; k < s.level && d < e.max; k++ {
		d *= 2
	}
	s.level++
	s.total++
	s.until = now + max(min(d, e.max), 1)
	e.bits[i>>6].Or(1 << (uint(i) & 63))
	if e.ejected.Add(1) == 1 || s.until < e.next.Load() {
		e.next.Store(s.until)
	}
	return true
}

// release puts instance i back in service; e.mu is held.
func (e *Ejector) release(i int, s *ejectState) {
	s.returned = s.until
	s.until = 0
	e.bits[i>>6].And(^(1 << (uint(i) & 63)))
	e.ejected.Add(-1)
}

// Eligible returns the instances in service: nil (all of them; the common
// case, one atomic load) or dst filled in (grown if shorter than
// MaskWords(Len())). Ejections that have run out end here.
func (e *Ejector) Eligible(dst Mask) Mask {
	if e.ejected.Load() == 0 {
		return nil
	}
	if now := e.now(); now >= e.next.Load() {
		e.returnExpired(now)
		if e.ejected.Load() == 0 {
			return nil
		}
	}
	if len(dst) < len(e.full) {
		dst = make(Mask, len(e.full))
	}
	dst = dst[:len(e.full)]
	for w := range dst {
		dst[w] = e.full[w] &^ e.bits[w].Load()
	}
	return dst
}

// returnExpired ends every ejection that has run out by now.
func (e *Ejector) returnExpired(now int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	next := int64(math.MaxInt64)
	for i := range e.inst {
		s := &e.inst[i]
		switch {
		case s.until == 0:
		case now >= s.until:
			e.release(i, s)
		default:
			next = min(next, s.until)
		}
	}
	e.next.Store(next)
}

// Return ends instance i's ejection now, as Envoy does when an active
// health check of an ejected host passes: the instance is back in service
// at once, and a repeat ejection still lasts longer. It reports whether
// the instance was ejected.
func (e *Ejector) Return(i int) bool {
	s := &e.inst[i]
	e.mu.Lock()
	defer e.mu.Unlock()
	if s.until == 0 {
		return false
	}
	s.until = e.now()
	e.release(i, s)
	return true
}

// State returns instance i's passive health.
func (e *Ejector) State(i int) EjectionState {
	s := &e.inst[i]
	e.mu.Lock()
	defer e.mu.Unlock()
	st := EjectionState{Failures: int(s.fails.Load()), Level: s.level, Ejections: s.total}
	if s.until != 0 {
		if rem := s.until - e.now(); rem > 0 {
			st.Ejected, st.Remaining = true, time.Duration(rem)
		}
	}
	return st
}
