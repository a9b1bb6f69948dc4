package balance

import (
	"fmt"
	"sync/atomic"
)

// P2C is power of two choices: each Pick draws two distinct eligible
// instances uniformly at random and takes the one with the lower
// (in-flight + 1) / weight, ties going to the first draw. In-flight counts
// are the gateway's own (Pick adds one, Done removes it), so an instance
// that slows down accumulates requests and loses traffic within one request
// latency, with no lock and O(1) work per pick.
//
// The +1 makes idle instances compare by weight, so at low concurrency
// heavier instances still win more often; under load the counts settle
// near in-flight ∝ weight.
type P2C struct {
	rand     func() uint64
	weights  atomic.Pointer[[]int64]
	inflight []paddedCount
}

// paddedCount keeps each instance's counter on its own cache line.
type paddedCount struct {
	n atomic.Int64
	_ [56]byte
}

// NewP2C returns a P2C over len(weights) instances.
func NewP2C(weights []int, opts Options) (*P2C, error) {
	w, err := checkWeights(weights, -1)
	if err != nil {
		return nil, fmt.Errorf("cannot create p2c balancer: %w", err)
	}
	p := &P2C{rand: defaultRand(opts.Rand), inflight: make([]paddedCount, len(w))}
	p.weights.Store(&w)
	return p, nil
}

// Len is the number of instances.
func (p *P2C) Len() int { return len(p.inflight) }

// SetWeights replaces the weights; in-flight counts are kept.
func (p *P2C) SetWeights(weights []int) error {
	w, err := checkWeights(weights, len(p.inflight))
	if err != nil {
		return fmt.Errorf("cannot set p2c weights: %w", err)
	}
	p.weights.Store(&w)
	return nil
}

// Pick returns the less loaded of two random eligible instances, or -1.
func (p *P2C) Pick(m Mask) int {
	n := len(p.inflight)
	if n == 1 {
		if !m.Has(0) {
			return -1
		}
		p.inflight[0].n.Add(1)
		return 0
	}
	r := p.rand()
	i := bounded(uint32(r), n)
	j := bounded(uint32(r>>32), n-1)
	if j >= i {
		j++
	}
	if m != nil && (!m.Has(i) || !m.Has(j)) {
		// A draw over all instances that hits an ineligible one is
		// redrawn over the eligible ones only: still uniform over
		// eligible pairs, and the common case (few ejected) stays O(1).
		if i, j = p.drawEligible(m); j < 0 {
			if i >= 0 {
				p.inflight[i].n.Add(1)
			}
			return i
		}
	}
	w := *p.weights.Load()
	// (in_j+1)/w_j < (in_i+1)/w_i without division.
	if (p.inflight[j].n.Load()+1)*w[i] < (p.inflight[i].n.Load()+1)*w[j] {
		i = j
	}
	p.inflight[i].n.Add(1)
	return i
}

// drawEligible draws two distinct instances of m uniformly; with fewer than
// two eligible it returns the only one (or -1) and j = -1.
func (p *P2C) drawEligible(m Mask) (i, j int) {
	c := m.count(len(p.inflight))
	switch c {
	case 0:
		return -1, -1
	case 1:
		return m.nth(0), -1
	}
	r := p.rand()
	a := bounded(uint32(r), c)
	b := bounded(uint32(r>>32), c-1)
	if b >= a {
		b++
	}
	return m.nth(a), m.nth(b)
}

// Done ends a request picked for instance i.
func (p *P2C) Done(i int) { p.inflight[i].n.Add(-1) }

// InFlight is the number of requests picked for instance i and not yet Done.
func (p *P2C) InFlight(i int) int { return int(p.inflight[i].n.Load()) }

// bounded maps a uniform 32-bit r onto [0, n) (Lemire's multiply-shift).
func bounded(r uint32, n int) int { return int(uint64(r) * uint64(n) >> 32) }
