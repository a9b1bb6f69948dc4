package gateway

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wharfhq/wharf/gateway/acl"
	"github.com/wharfhq/wharf/gateway/adaptive"
	"github.com/wharfhq/wharf/gateway/balance"
	"github.com/wharfhq/wharf/gateway/health"
	"github.com/wharfhq/wharf/gateway/proxy"
	"github.com/wharfhq/wharf/gateway/ratelimit"
	"github.com/wharfhq/wharf/internal/config"
)

// state is what survives a config reload: rate-limit zones (so a client's
// budget is not reset by an unrelated change), concurrency counters,
// upstream pools (keep-alive connections) and auto-ban trackers. Only
// compile touches it, under mu.
type state struct {
	mu       sync.Mutex
	reg      *ratelimit.Registry
	maxKeys  int
	zones    map[string]*ratelimit.Zone
	conns    map[string]*connEntry
	trackers map[string]*trackerEntry
	services map[string]*serviceEntry
	// transport owns the upstream keep-alive pools; routes to an unchanged
	// address keep their connections across reloads.
	transport *proxy.Transport
	// runCtx is the gateway's lifetime: active health checkers run in it.
	runCtx context.Context
	// aclCache holds the ACL tables of the last compile; aclNext collects
	// the current compile's (see aclTable).
	aclCache, aclNext map[string]*acl.Table
	weigher           *balance.Weigher
	// limiters are the services' adaptive concurrency limiters, kept across
	// rebuilds so what they learned survives a config or registry change.
	limiters map[string]*adaptive.Limiter
	// onHealth is called (without blocking) when an instance's active
	// health check result turns; the gateway re-evaluates its rooms.
	onHealth func()
}

// limiter returns the adaptive concurrency limiter of a service.
func (s *state) limiter(service string) (*adaptive.Limiter, error) {
	if l, ok := s.limiters[service]; ok {
		return l, nil
	}
	l, err := adaptive.New(adaptive.Options{})
	if err != nil {
		return nil, fmt.Errorf("service %q: %w", service, err)
	}
	if s.limiters == nil {
		s.limiters = map[string]*adaptive.Limiter{}
	}
	s.limiters[service] = l
	return l, nil
}

type serviceEntry struct {
	cfg config.ServiceConfig
	svc *proxy.Service
	// stopHealth ends the service's active health checker (nil when off).
	stopHealth context.CancelFunc
}

// sameService reports whether two configs build the same proxy service:
// the same addresses in the same order, pipelining and health checks.
// Weights may differ; they are updated in place (Service.SetWeights).
func sameService(a, b config.ServiceConfig) bool {
	return slices.EqualFunc(a.Instances, b.Instances, func(x, y config.InstanceConfig) bool { return x.Addr == y.Addr && x.Room == y.Room }) &&
		a.Pipeline == b.Pipeline && a.AdaptiveConcurrency == b.AdaptiveConcurrency &&
		(a.Health == nil) == (b.Health == nil) && (a.Health == nil || *a.Health == *b.Health)
}

// aclTable returns the compiled table of the lists, reusing the one the last
// compile built for the same lists (a deny list of 100,000 CIDRs takes
// milliseconds to compile, and registry heartbeats rebuild the snapshot).
func (s *state) aclTable(allow, deny []string) (*acl.Table, error) {
	key := strings.Join(allow, ",") + "\x00" + strings.Join(deny, ",")
	if t, ok := s.aclNext[key]; ok {
		return t, nil
	}
	t, ok := s.aclCache[key]
	if !ok {
		var err error
		if t, err = acl.Compile(allow, deny); err != nil {
			return nil, err
		}
	}
	if s.aclNext == nil {
		s.aclNext = map[string]*acl.Table{}
	}
	s.aclNext[key] = t
	return t, nil
}

// effectiveWeights turns static weights and reported loads into the
// balancer's weights (see balance.Weigher).
func (s *state) effectiveWeights(sc config.ServiceConfig, loads []balance.Load) []int {
	static := make([]int, len(sc.Instances))
	for i, in := range sc.Instances {
		static[i] = max(in.Weight, 1)
	}
	if len(loads) != len(static) {
		loads = make([]balance.Load, len(static))
	}
	w, err := s.weigher.Weights(nil, static, loads, time.Now())
	if err != nil {
		return static
	}
	return w
}

type connEntry struct {
	cfg config.LimitConfig
	cl  *ratelimit.ConnLimiter
}

type trackerEntry struct {
	cfg    config.AutoBanConfig
	t      *acl.Tracker
	cancel context.CancelFunc
}

// usage collects what one compile used, so the rest can be retired.
type usage struct {
	zones, conns, trackers, services map[string]bool
	routes                           []*proxy.Route
}

func newUsage() *usage {
	return &usage{zones: map[string]bool{}, conns: map[string]bool{}, trackers: map[string]bool{}, services: map[string]bool{}}
}

// zone returns the zone for lc, reusing (a view of) the existing one of that
// name so its keys' state carries over.
func (s *state) zone(lc config.LimitConfig) (*ratelimit.Zone, error) {
	l, err := limitFromConfig(lc)
	if err != nil {
		return nil, err
	}
	if z, ok := s.zones[lc.Name]; ok {
		if z.Limit() == l {
			return z, nil
		}
		nz, err := z.With(l)
		if err != nil {
			return nil, err
		}
		s.zones[lc.Name] = nz
		return nz, nil
	}
	z, err := s.reg.NewZone(l, s.maxKeys)
	if err != nil {
		return nil, err
	}
	s.zones[lc.Name] = z
	return z, nil
}

// connLimiter returns the concurrency limiter for lc; a changed maximum
// starts a new one (requests in flight release into the old one).
func (s *state) connLimiter(lc config.LimitConfig) (*ratelimit.ConnLimiter, error) {
	if e, ok := s.conns[lc.Name]; ok && e.cfg.Conn == lc.Conn {
		return e.cl, nil
	}
	cl, err := ratelimit.NewConnLimiter(ratelimit.ConnOptions{Max: lc.Conn, MaxKeys: s.maxKeys})
	if err != nil {
		return nil, fmt.Errorf("limit %q: %w", lc.Name, err)
	}
	s.conns[lc.Name] = &connEntry{cfg: lc, cl: cl}
	return cl, nil
}

// tracker returns the auto-ban tracker of a route, starting a new one when
// the route is new or its rule changed.
func (s *state) tracker(_ context.Context, routeName string, ab config.AutoBanConfig, g *Gateway) (*acl.Tracker, error) {
	if e, ok := s.trackers[routeName]; ok && e.cfg == ab {
		return e.t, nil
	}
	t, err := acl.NewTracker(acl.TrackerOptions{
		Threshold: ab.After, Window: ab.Within.D(), BanFor: ab.For.D(),
		Route: routeName, IPv6Bits: g.ip.IPv6Prefix(), Logger: g.log,
		Reason: fmt.Sprintf("auto: rate limited %d times within %s on route %s", ab.After, ab.Within, routeName),
	}, g.banner)
	if err != nil {
		return nil, fmt.Errorf("auto_ban: %w", err)
	}
	if old, ok := s.trackers[routeName]; ok {
		old.cancel()
	}
	ctx, cancel := context.WithCancel(g.runCtx)
	go func() { _ = t.Run(ctx) }()
	s.trackers[routeName] = &trackerEntry{cfg: ab, t: t, cancel: cancel}
	return t, nil
}

// retire forgets what the last compile did not use.
func (s *state) retire(u *usage) {
	for name := range s.zones {
		if !u.zones[name] {
			delete(s.zones, name)
		}
	}
	for name := range s.conns {
		if !u.conns[name] {
			delete(s.conns, name)
		}
	}
	for name, e := range s.trackers {
		if !u.trackers[name] {
			e.cancel()
			delete(s.trackers, name)
		}
	}
	for name := range s.limiters {
		if e, ok := s.services[name]; !ok || !u.services[name] || !e.cfg.AdaptiveConcurrency {
			delete(s.limiters, name)
		}
	}
	for key, e := range s.services {
		if !u.services[key] {
			if e.stopHealth != nil {
				e.stopHealth()
			}
			delete(s.services, key)
		}
	}
	s.transport.Prune(u.routes...)
	s.aclCache, s.aclNext = s.aclNext, nil
}

// service returns the proxy service for sc, the same one while its instance
// list is unchanged (so round-robin carries on); nil when it has no instances.
func (s *state) service(sc config.ServiceConfig, loads []balance.Load) (*proxy.Service, error) {
	weights := s.effectiveWeights(sc, loads)
	if e, ok := s.services[sc.Name]; ok && sameService(e.cfg, sc) {
		if e.svc != nil {
			_ = e.svc.SetWeights(weights) // same instances: keep in-flight counts and ejections
		}
		return e.svc, nil
	}
	entry := &serviceEntry{cfg: sc}
	if len(sc.Instances) > 0 {
		addrs := make([]string, len(sc.Instances))
		roomOf := make([]string, len(sc.Instances))
		for i, in := range sc.Instances {
			addrs[i], roomOf[i] = in.Addr, in.Room
		}
		pc := proxy.ServiceConfig{Name: sc.Name, Instances: addrs, Weights: weights, Pipeline: sc.Pipeline, Rooms: roomOf}
		if sc.AdaptiveConcurrency {
			lim, err := s.limiter(sc.Name)
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
			ctx, cancel := context.WithCancel(s.runCtx)
			go chk.Run(ctx)
			entry.stopHealth = cancel
			pc.Health = chk
		}
		svc, err := proxy.NewService(pc)
		if err != nil {
			if entry.stopHealth != nil {
				entry.stopHealth()
			}
			return nil, err
		}
		entry.svc = svc
		svcp.Store(svc)
	}
	if old, ok := s.services[sc.Name]; ok && old.stopHealth != nil {
		old.stopHealth()
	}
	s.services[sc.Name] = entry
	return entry.svc, nil
}

// sweep drops drained rate-limit keys; the gateway calls it periodically.
func (s *state) sweep() {
	s.mu.Lock()
	zones := make([]*ratelimit.Zone, 0, len(s.zones))
	for _, z := range s.zones {
		zones = append(zones, z)
	}
	s.mu.Unlock()
	for _, z := range zones {
		z.Sweep()
	}
}

// stopTrackers ends every auto-ban tracker.
func (s *state) stopTrackers() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.trackers {
		e.cancel()
	}
}
