package balance

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Balancer chooses the instance for each request among a fixed set of n
// instances (indexes 0..n-1). Implementations are safe for concurrent use.
type Balancer interface {
	// Pick returns the instance for a request, or -1 when m holds no
	// instance. Every Pick that returns i ≥ 0 must be followed by exactly
	// one Done(i) when the request (with all its retries on i) ends.
	Pick(m Mask) int
	// Done ends a request picked for instance i.
	Done(i int)
	// SetWeights replaces the effective weights (one per instance, each ≥ 1),
	// keeping in-flight counts.
	SetWeights(weights []int) error
	// Len is the number of instances.
	Len() int
}

// Policy names a balancing algorithm.
type Policy uint8

// Policies. The zero value is the default, P2C.
const (
	// PolicyP2C is power of two choices on in-flight counts per weight.
	PolicyP2C Policy = iota
	// PolicySWRR is nginx's smooth weighted round-robin.
	PolicySWRR
)

// String returns the policy's configuration name.
func (p Policy) String() string {
	switch p {
	case PolicyP2C:
		return "p2c"
	case PolicySWRR:
		return "swrr"
	}
	return fmt.Sprintf("policy(%d)", uint8(p))
}

// ParsePolicy parses a configuration name: "p2c", "swrr" or "" (the
// default, p2c).
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "", "p2c":
		return PolicyP2C, nil
	case "swrr":
		return PolicySWRR, nil
	}
	return 0, fmt.Errorf("cannot parse balancing policy %q: want p2c or swrr", s)
}

// Options configure New.
type Options struct {
	// Rand returns uniformly random 64-bit values for P2C; it must be safe
	// for concurrent use when Pick is. Default: math/rand/v2's Uint64.
	Rand func() uint64
}

// New returns a Balancer of policy p over len(weights) instances.
func New(p Policy, weights []int, opts Options) (Balancer, error) {
	switch p {
	case PolicyP2C:
		return NewP2C(weights, opts)
	case PolicySWRR:
		return NewSWRR(weights)
	}
	return nil, fmt.Errorf("cannot create balancer: unknown policy %d", uint8(p))
}

// checkWeights validates weights for n instances (n < 0: any count ≥ 1)
// and returns them as int64.
func checkWeights(weights []int, n int) ([]int64, error) {
	if len(weights) == 0 {
		return nil, errors.New("no instances")
	}
	if n >= 0 && len(weights) != n {
		return nil, fmt.Errorf("%d weights for %d instances", len(weights), n)
	}
	out := make([]int64, len(weights))
	for i, w := range weights {
		if w < 1 || int64(w) > math.MaxInt32 {
			return nil, fmt.Errorf("weight %d of instance %d is outside 1..%d", w, i, math.MaxInt32)
		}
		out[i] = int64(w)
	}
	return out, nil
}

func defaultRand(f func() uint64) func() uint64 {
	if f == nil {
		return rand.Uint64
	}
	return f
}
