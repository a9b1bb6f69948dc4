package proxy

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/wharfhq/wharf/gateway/balance"
)

// Picker chooses the instance a request tries first. It is the seam for
// load-balancing policies (weights, rooms); failover after a connect error
// walks on from the picked index in instance order.
type Picker interface {
	// Pick returns an index in [0, n); n is at least 1. It is called
	// concurrently.
	Pick(n int) int
}

// RoundRobin is the default Picker: instances in turn, by an atomic counter.
// The zero value is ready to use.
type RoundRobin struct {
	next atomic.Uint64
}

// Pick returns the next index in turn.
func (r *RoundRobin) Pick(n int) int {
	return int((r.next.Add(1) - 1) % uint64(n))
}

// ServiceConfig describes a Service.
type ServiceConfig struct {
	// Name appears in error messages and outcomes.
	Name string
	// Instances are "host:port" addresses, each listed once.
	Instances []string
	// Picker chooses the first instance per request; nil is a new RoundRobin.
	Picker Picker
	// Weights are the instances' static weights (parallel to Instances; nil
	// or 0 means 1), used by the default least-loaded (P2C) choice.
	Weights []int
	// Eject configures passive health (see balance.Ejector); zero fields
	// take the balance package's defaults.
	Eject balance.EjectorOptions
	// Limiter, when set, bounds the requests in flight to the service (see
	// gateway/adaptive); over the limit a request is refused with 503.
	Limiter ConcurrencyLimiter
	// Health, when set, says which instances pass their active health
	// checks (see gateway/health); failing ones get no traffic.
	Health Eligibility
	// Pipeline, when above 0, sends idempotent requests without a body (GET,
	// HEAD, OPTIONS, TRACE) over this many HTTP/1.1-pipelined connections per
	// instance, batching writes (Options.PipelineBatchDelay); see doc.go.
	Pipeline int
	// Rooms are the instances' rooms (parallel to Instances; "" for none).
	// With rooms, SetRooms makes each request choose a room first.
	Rooms []string
}

// Service is an immutable upstream service built per config snapshot: a
// name, a static instance list and a Picker. Routes bind it to pooled
// connections with Transport.NewRoute.
type Service struct {
	name      string
	instances []string
	picker    Picker           // set by tests and callers that choose themselves
	bal       *balance.P2C     // the default choice when picker is nil
	ej        *balance.Ejector // passive health
	health    Eligibility      // active health; nil when off
	limiter   ConcurrencyLimiter
	pipeline  int
	roomOf    []string // parallel to instances; nil when no instance has a room
	plan      atomic.Pointer[roomPlan]
}

// NewService validates cfg and returns the Service.
func NewService(cfg ServiceConfig) (*Service, error) {
	if cfg.Name == "" {
		return nil, errors.New("cannot build service: empty name")
	}
	if len(cfg.Instances) == 0 {
		return nil, fmt.Errorf("cannot build service %q: no instances", cfg.Name)
	}
	seen := make(map[string]bool, len(cfg.Instances))
	for _, addr := range cfg.Instances {
		if err := checkAddr(addr); err != nil {
			return nil, fmt.Errorf("cannot build service %q: %w", cfg.Name, err)
		}
		if seen[addr] {
			return nil, fmt.Errorf("cannot build service %q: instance %s listed twice", cfg.Name, addr)
		}
		seen[addr] = true
	}
	if cfg.Pipeline < 0 || cfg.Pipeline > MaxPipelineConns {
		return nil, fmt.Errorf("cannot build service %q: pipeline must be 0..%d connections, got %d", cfg.Name, MaxPipelineConns, cfg.Pipeline)
	}
	svc := &Service{name: cfg.Name, instances: append([]string(nil), cfg.Instances...), picker: cfg.Picker, pipeline: cfg.Pipeline, health: cfg.Health, limiter: cfg.Limiter}
	if svc.picker == nil {
		weights := make([]int, len(cfg.Instances))
		for i := range weights {
			weights[i] = 1
			if i < len(cfg.Weights) && cfg.Weights[i] > 0 {
				weights[i] = cfg.Weights[i]
			}
		}
		bal, err := balance.NewP2C(weights, balance.Options{})
		if err != nil {
			return nil, fmt.Errorf("cannot build service %q: %w", cfg.Name, err)
		}
		svc.bal = bal
	}
	ej, err := balance.NewEjector(len(cfg.Instances), cfg.Eject)
	if err != nil {
		return nil, fmt.Errorf("cannot build service %q: %w", cfg.Name, err)
	}
	svc.ej = ej
	for i, r := range cfg.Rooms {
		if r != "" && i < len(cfg.Instances) {
			svc.roomOf = make([]string, len(cfg.Instances))
			copy(svc.roomOf, cfg.Rooms)
			break
		}
	}
	return svc, nil
}

func checkAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("cannot parse instance address %q: %w", addr, err)
	}
	if host == "" {
		return fmt.Errorf("cannot use instance address %q: empty host", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return fmt.Errorf("cannot use instance address %q: bad port", addr)
	}
	return nil
}

// Name is the service name.
func (s *Service) Name() string { return s.name }

// Instances returns a copy of the instance addresses.
func (s *Service) Instances() []string { return append([]string(nil), s.instances...) }

// pick chooses the first instance of a request among the eligible ones
// (m; nil = all) and returns a done func's argument: the index to release
// with release. With a room plan (SetRooms) it chooses a room first (key
// is the client key of sticky plans). When every instance is ejected it
// picks among all of them (better an ejected instance than none, like
// Envoy's panic mode).
func (s *Service) pick(m balance.Mask, key []byte) int {
	n := len(s.instances)
	if s.picker != nil {
		i := s.picker.Pick(n)
		if i < 0 || i >= n {
			i = 0
		}
		if m != nil && !m.Has(i) {
			for k := 1; k < n; k++ {
				if j := (i + k) % n; m.Has(j) {
					return j
				}
			}
		}
		return i
	}
	if p := s.plan.Load(); p != nil {
		var buf [maxPlanWords]uint64
		if i := s.pickRoom(p, m, key, buf[:]); i >= 0 {
			return i
		}
	}
	if i := s.bal.Pick(m); i >= 0 {
		return i
	}
	return s.bal.Pick(nil)
}

// PipelineMinInFlight is how many requests must be in flight to an instance
// (through this gateway) before its requests are pipelined.
const PipelineMinInFlight = 8

// busy reports whether instance i has enough requests in flight for
// pipelining to pay off. Without in-flight counts (a custom Picker) it is
// always busy.
func (s *Service) busy(i int) bool {
	return s.bal == nil || s.bal.InFlight(i) >= PipelineMinInFlight
}

// SetWeights replaces the instances' weights (parallel to the instance
// list) without resetting in-flight counts or ejections. A Service with a
// custom Picker ignores them.
func (s *Service) SetWeights(w []int) error {
	if s.bal == nil {
		return nil
	}
	if err := s.bal.SetWeights(w); err != nil {
		return fmt.Errorf("cannot set weights of service %q: %w", s.name, err)
	}
	return nil
}

// release ends a pick (the P2C in-flight count).
func (s *Service) release(i int) {
	if s.bal != nil {
		s.bal.Done(i)
	}
}

// ConcurrencyLimiter bounds a service's requests in flight;
// *adaptive.Limiter implements it.
type ConcurrencyLimiter interface {
	Acquire() bool
	Release(latency time.Duration, failed bool)
	Abandon()
}

// Eligibility is a source of the instances that may get traffic (nil: all).
type Eligibility interface {
	Eligible(dst balance.Mask) balance.Mask
}

// eligible combines passive health (ejections, into a) and active health
// checks (into b); nil means every instance.
func (s *Service) eligible(a, b balance.Mask) balance.Mask {
	m := s.ej.Eligible(a)
	if s.health == nil {
		return m
	}
	h := s.health.Eligible(b)
	switch {
	case h == nil:
		return m
	case m == nil:
		return h
	}
	return m.And(h)
}

// Uneject ends a passive-health ejection of instance i at once (its active
// health check passes again); it reports whether i was ejected.
func (s *Service) Uneject(i int) bool { return s.ej.Return(i) }

// Ejected reports whether passive health has taken instance i out.
func (s *Service) Ejected(i int) bool { return s.ej.State(i).Ejected }
