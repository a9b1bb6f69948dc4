package gateway

import (
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/wharfhq/wharf/gateway/balance"
	"github.com/wharfhq/wharf/gateway/health"
	"github.com/wharfhq/wharf/gateway/proxy"
	"github.com/wharfhq/wharf/internal/config"
)

// newService builds the proxy service of sc with its active health checker
// (not started: commit starts it); an entry without a service when sc has
// no instances.
func (s *state) newService(b *build, sc config.ServiceConfig, weights []int) (*serviceEntry, error) {
	entry := &serviceEntry{cfg: sc, weights: weights}
	if len(sc.Instances) == 0 {
		return entry, nil
	}
	addrs := make([]string, len(sc.Instances))
	roomOf := make([]string, len(sc.Instances))
	for i, in := range sc.Instances {
		addrs[i], roomOf[i] = in.Addr, in.Room
	}
	pc := proxy.ServiceConfig{Name: sc.Name, Instances: addrs, Weights: weights, Pipeline: sc.Pipeline, Rooms: roomOf}
	if sc.AdaptiveConcurrency {
		lim, err := b.limiter(sc.Name)
		if err != nil {
			return nil, err
		}
		pc.Limiter = lim
	}
	var svcp atomic.Pointer[proxy.Service]
	if h := sc.Health; h != nil {
		onChange := func(i int, healthy bool) {
			if svc := svcp.Load(); svc != nil && healthy {
				svc.Uneject(i)
			}
			if s.onHealth != nil {
				s.onHealth()
			}
		}
		chk, err := health.New(addrs, health.Options{Path: h.Path, Interval: h.Interval.D(), Timeout: h.Timeout.D(),
			Healthy: h.Healthy, Unhealthy: h.Unhealthy, OnChange: onChange})
		if err != nil {
			return nil, fmt.Errorf("service %q: %w", sc.Name, err)
		}
		entry.health = &worker{run: chk.Run}
		pc.Health = chk
	}
	svc, err := proxy.NewService(pc)
	if err != nil {
		return nil, fmt.Errorf("service %q: %w", sc.Name, err)
	}
	entry.svc = svc
	svcp.Store(svc)
	return entry, nil
}

// reweigh puts new loads and weights in effect on the live services without
// compiling, and reports false (changing nothing) when an instance came,
// went or changed its version: then the snapshot must be rebuilt.
func (s *state) reweigh(fresh map[string]config.ServiceConfig, loads map[string][]balance.Load) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live == nil || !weightsOnly(s.live.services, fresh) {
		return false
	}
	for name, e := range s.live.services {
		sc := fresh[name]
		e.cfg = sc
		if w := s.effectiveWeights(sc, loads[name]); e.svc != nil && !slices.Equal(w, e.weights) && e.svc.SetWeights(w) == nil {
			e.weights = w
		}
	}
	return true
}

// weightsOnly reports whether the registry-merged configs of the live
// services differ from fresh only in weights: then a heartbeat's new loads
// are put in effect without compiling a new snapshot (see
// Gateway.onRegistry). Versions count as a change (routes count traffic
// per version).
func weightsOnly(live map[string]*serviceEntry, fresh map[string]config.ServiceConfig) bool {
	for name, e := range live {
		sc, ok := fresh[name]
		if !ok || !sameService(e.cfg, sc) {
			return false
		}
		for i, in := range sc.Instances {
			if e.cfg.Instances[i].Version != in.Version {
				return false
			}
		}
	}
	return true
}
