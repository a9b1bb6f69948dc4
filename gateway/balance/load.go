package balance

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Load is what an instance reports about itself in its heartbeat.
type Load struct {
	// CPU is the share of the instance's CPU capacity in use, 0..1.
	CPU float64
	// Memory is the share of its memory limit in use, 0..1.
	Memory float64
	// InFlight is the number of requests it is serving, from all gateways.
	InFlight int
	// At is when the instance measured it; the zero time means "never
	// reported".
	At time.Time
}

// WeightScale is the effective weight of an instance with static weight 1
// and average load: Weigher.Weights returns static weights × WeightScale ×
// a load factor, so factors keep three digits of precision.
const WeightScale = 1000

// Defaults of WeightOptions.
const (
	DefaultStaleAfter   = 7 * time.Second // two missed 3 s heartbeats, plus slack
	DefaultFullInFlight = 100
	DefaultMemoryHigh   = 0.8
	DefaultLoadFloor    = 0.05
)

// maxScore bounds a load score so absurd reports cannot overflow weights.
const maxScore = 100

// WeightOptions configure a Weigher. Zero fields take the defaults.
type WeightOptions struct {
	// StaleAfter is how old a report may be before the instance falls back
	// to its static weight (default DefaultStaleAfter).
	StaleAfter time.Duration
	// FullInFlight is the in-flight count that scores as fully loaded, like
	// CPU 1.0 (default DefaultFullInFlight). Set it per service to about
	// the concurrency at which an instance's latency starts to rise.
	FullInFlight int
	// MemoryHigh is the memory share below which memory does not count;
	// from there to 1.0 memory scores 0..1 (default DefaultMemoryHigh).
	MemoryHigh float64
	// Floor is added to every score before inverting it, bounding how much
	// more traffic an idle instance can get than a busy one: at most
	// (1+Floor)/Floor times (21× by default; default DefaultLoadFloor).
	Floor float64
}

// Weigher turns reported loads into effective weights.
//
// The score of a fresh report is its most constrained resource:
//
//	score = max(CPU, InFlight/FullInFlight, (Memory-MemoryHigh)/(1-MemoryHigh))
//
// (each term clamped at 0; memory only counts near exhaustion, because a
// process's memory use says little about its latency until it runs out).
// Among the instances with fresh reports, traffic goes in inverse proportion
// to load:
//
//	raw_i    = 1 / (score_i + Floor)
//	factor_i = raw_i × Σ static_j / Σ static_j×raw_j     (j over fresh reports)
//	weight_i = static_i × factor_i × WeightScale
//
// Inverse proportion is the fixed point of "equalise load": an instance at
// 3× its peers' load gets about 1/3 of a peer's share, whatever the absolute
// level (CPU 0.1 vs 0.3 and 0.3 vs 0.9 alike, within the Floor). The
// normalisation keeps the reporting instances' total weight at their static
// total, so load moves traffic only among instances that report it:
// instances with stale or no reports keep static × WeightScale and are
// neither starved nor flooded by the others' numbers. Equal loads give the
// static weights exactly.
type Weigher struct {
	opts WeightOptions
}

// NewWeigher validates opts and returns a Weigher.
func NewWeigher(opts WeightOptions) (*Weigher, error) {
	if opts.StaleAfter < 0 || opts.FullInFlight < 0 || opts.MemoryHigh < 0 || opts.MemoryHigh >= 1 ||
		opts.Floor < 0 || math.IsNaN(opts.MemoryHigh) || math.IsNaN(opts.Floor) || math.IsInf(opts.Floor, 0) {
		return nil, errors.New("cannot create weigher: StaleAfter, FullInFlight and Floor must not be negative, MemoryHigh must be in [0, 1)")
	}
	if opts.StaleAfter == 0 {
		opts.StaleAfter = DefaultStaleAfter
	}
	if opts.FullInFlight == 0 {
		opts.FullInFlight = DefaultFullInFlight
	}
	if opts.MemoryHigh == 0 {
		opts.MemoryHigh = DefaultMemoryHigh
	}
	if opts.Floor == 0 {
		opts.Floor = DefaultLoadFloor
	}
	return &Weigher{opts: opts}, nil
}

// Fresh reports whether l was measured within StaleAfter of now. A report
// from the future (clock skew) counts as fresh.
func (w *Weigher) Fresh(l Load, now time.Time) bool {
	return !l.At.IsZero() && now.Sub(l.At) <= w.opts.StaleAfter
}

// Score is l's load score (see Weigher), in [0, 100].
func (w *Weigher) Score(l Load) float64 {
	s := clampScore(l.CPU)
	s = max(s, clampScore(float64(l.InFlight)/float64(w.opts.FullInFlight)))
	s = max(s, clampScore((l.Memory-w.opts.MemoryHigh)/(1-w.opts.MemoryHigh)))
	return s
}

func clampScore(v float64) float64 {
	switch {
	case v > maxScore:
		return maxScore
	case v >= 0:
		return v
	}
	return 0 // negative or NaN
}

// Weights computes the effective weight of every instance into dst (grown
// if short) and returns it. static[i] ≥ 1 is instance i's configured weight
// and loads[i] its latest report.
func (w *Weigher) Weights(dst, static []int, loads []Load, now time.Time) ([]int, error) {
	if len(static) != len(loads) {
		return nil, fmt.Errorf("cannot compute weights: %d static weights for %d loads", len(static), len(loads))
	}
	if cap(dst) < len(static) {
		dst = make([]int, len(static))
	}
	dst = dst[:len(static)]
	var sumStatic, sumRaw float64
	for i, s := range static {
		if s < 1 || s > math.MaxInt32/WeightScale {
			return nil, fmt.Errorf("cannot compute weights: static weight %d of instance %d is outside 1..%d", s, i, math.MaxInt32/WeightScale)
		}
		if w.Fresh(loads[i], now) {
			sumStatic += float64(s)
			sumRaw += float64(s) / (w.Score(loads[i]) + w.opts.Floor)
		}
	}
	for i, s := range static {
		f := 1.0
		if sumRaw > 0 && w.Fresh(loads[i], now) {
			f = sumStatic / sumRaw / (w.Score(loads[i]) + w.opts.Floor)
		}
		v := math.Round(float64(s) * WeightScale * f)
		dst[i] = int(min(max(v, 1), math.MaxInt32))
	}
	return dst, nil
}
