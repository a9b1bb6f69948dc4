package balance

import (
	"fmt"
	"sync"
)

// SWRR is nginx's smooth weighted round-robin: on each pick every eligible
// instance's current value grows by its weight, the largest wins and gives
// back the sum of the eligible weights. Over any run of Σw picks each
// instance is chosen w times, spread evenly (weights 5,1,1 give a a b a c a
// a rather than a a a a a b c).
//
// Picks are serialised by a mutex and walk every instance: O(n) per pick.
// It ignores in-flight counts; Done does nothing.
type SWRR struct {
	mu    sync.Mutex
	peers []swrrPeer
}

type swrrPeer struct {
	weight  int64
	current int64
}

// NewSWRR returns an SWRR over len(weights) instances.
func NewSWRR(weights []int) (*SWRR, error) {
	w, err := checkWeights(weights, -1)
	if err != nil {
		return nil, fmt.Errorf("cannot create swrr balancer: %w", err)
	}
	s := &SWRR{peers: make([]swrrPeer, len(w))}
	for i := range w {
		s.peers[i].weight = w[i]
	}
	return s, nil
}

// Len is the number of instances.
func (s *SWRR) Len() int { return len(s.peers) }

// SetWeights replaces the weights and restarts the rotation.
func (s *SWRR) SetWeights(weights []int) error {
	w, err := checkWeights(weights, len(s.peers))
	if err != nil {
		return fmt.Errorf("cannot set swrr weights: %w", err)
	}
	s.mu.Lock()
	for i := range s.peers {
		s.peers[i] = swrrPeer{weight: w[i]}
	}
	s.mu.Unlock()
	return nil
}

// Pick returns the next eligible instance in the smooth rotation, or -1.
func (s *SWRR) Pick(m Mask) int {
	best := -1
	var total, bestCur int64
	s.mu.Lock()
	for i := range s.peers {
		if m != nil && !m.Has(i) {
			continue
		}
		p := &s.peers[i]
		p.current += p.weight
		total += p.weight
		if best < 0 || p.current > bestCur {
			best, bestCur = i, p.current
		}
	}
	if best >= 0 {
		s.peers[best].current -= total
	}
	s.mu.Unlock()
	return best
}

// Done does nothing: SWRR does not track in-flight requests.
func (s *SWRR) Done(int) {}
