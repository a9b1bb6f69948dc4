package gateway

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/gateway/acl"
	"github.com/wharfhq/wharf/gateway/adaptive"
	"github.com/wharfhq/wharf/gateway/balance"
	"github.com/wharfhq/wharf/gateway/proxy"
	"github.com/wharfhq/wharf/gateway/ratelimit"
	"github.com/wharfhq/wharf/internal/config"
)

// state is what survives a config reload: rate-limit zones (so a client's
// budget is not reset by an unrelated change), concurrency counters,
// upstream pools (keep-alive connections), health checkers and auto-ban
// trackers. The served snapshot uses the live generation; a compile builds
// the next one beside it without changing it (see build), and only a
// build that compiled is started and swapped in (commit). mu guards live
// and closed; the gateway's rebuildMu orders the builds.
type state struct {
	mu      sync.Mutex
	live    *generation
	closed  bool
	reg     *ratelimit.Registry
	maxKeys int
	// transport owns the upstream keep-alive pools; routes to an unchanged
	// address keep their connections across reloads.
	transport *proxy.Transport
	// runCtx is the gateway's lifetime: health checkers and auto-ban
	// trackers run in it, tracked by wg (Shutdown waits for them).
	runCtx  context.Context
	wg      sync.WaitGroup
	weigher *balance.Weigher
	// onHealth is called (without blocking) when an instance's active
	// health check result turns; the gateway re-evaluates its rooms.
	onHealth func()
}

// generation is the state one snapshot uses, by name.
type generation struct {
	zones    map[string]*ratelimit.Zone
	conns    map[string]*connEntry
	trackers map[string]*trackerEntry
	services map[string]*serviceEntry
	// limiters are the services' adaptive concurrency limiters, kept across
	// rebuilds so what they learned survives a config or registry change.
	limiters map[string]*adaptive.Limiter
	// acls are the compiled ACL tables by their lists (see aclTable).
	acls map[string]*acl.Table
	// routes are the upstream routes of the snapshot (for Transport.Prune).
	routes []*proxy.Route
}

func newGeneration() *generation {
	return &generation{
		zones: map[string]*ratelimit.Zone{}, conns: map[string]*connEntry{}, trackers: map[string]*trackerEntry{},
		services: map[string]*serviceEntry{}, limiters: map[string]*adaptive.Limiter{}, acls: map[string]*acl.Table{},
	}
}

// worker is a goroutine a generation owns (a health checker, an auto-ban
// tracker): run is started by commit and ended by cancel when the entry is
// retired or the gateway shuts down.
type worker struct {
	run    func(context.Context)
	cancel context.CancelFunc // nil until started
}

type serviceEntry struct {
	cfg config.ServiceConfig
	svc *proxy.Service
	// weights are the balancer weights last put in effect.
	weights []int
	// health is the service's active health checker (nil when off).
	health *worker
}

type connEntry struct {
	cfg config.LimitConfig
	cl  *ratelimit.ConnLimiter
}

type trackerEntry struct {
	cfg config.AutoBanConfig
	t   *acl.Tracker
	w   *worker
}

// build is one compile's next generation, made from the live one without
// changing it: unchanged entries are shared, new ones are created but not
// started, and weight changes of shared services are only recorded.
type build struct {
	from, next *generation
	weights    map[*serviceEntry][]int
}

// begin starts a build from the live generation. The caller holds the
// gateway's rebuildMu, so live does not change until commit.
func (s *state) begin() *build {
	s.mu.Lock()
	from := s.live
	s.mu.Unlock()
	if from == nil {
		from = newGeneration()
	}
	return &build{from: from, next: newGeneration(), weights: map[*serviceEntry][]int{}}
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
func (b *build) aclTable(allow, deny []string) (*acl.Table, error) {
	key := strings.Join(allow, ",") + "\x00" + strings.Join(deny, ",")
	if t, ok := b.next.acls[key]; ok {
		return t, nil
	}
	t, ok := b.from.acls[key]
	if !ok {
		var err error
		if t, err = acl.Compile(allow, deny); err != nil {
			return nil, err
		}
	}
	b.next.acls[key] = t
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

// zone returns the zone for lc. A zone of that name in the live generation
// carries its keys' state over: the same zone when lc is unchanged, a new
// view of its state table with the new settings otherwise (Zone.With
// leaves the live zone as it is).
func (s *state) zone(b *build, lc config.LimitConfig) (*ratelimit.Zone, error) {
	if z, ok := b.next.zones[lc.Name]; ok {
		return z, nil
	}
	l, err := limitFromConfig(lc)
	if err != nil {
		return nil, err
	}
	z, ok := b.from.zones[lc.Name]
	switch {
	case ok && z.Limit() == l:
	case ok:
		if z, err = z.With(l); err != nil {
			return nil, err
		}
	default:
		if z, err = s.reg.NewZone(l, s.maxKeys); err != nil {
			return nil, err
		}
	}
	b.next.zones[lc.Name] = z
	return z, nil
}

// connLimiter returns the concurrency limiter for lc; a changed maximum
// starts a new one (requests in flight release into the old one).
func (s *state) connLimiter(b *build, lc config.LimitConfig) (*ratelimit.ConnLimiter, error) {
	if e, ok := b.next.conns[lc.Name]; ok {
		return e.cl, nil
	}
	e, ok := b.from.conns[lc.Name]
	if !ok || e.cfg.Conn != lc.Conn {
		cl, err := ratelimit.NewConnLimiter(ratelimit.ConnOptions{Max: lc.Conn, MaxKeys: s.maxKeys})
		if err != nil {
			return nil, fmt.Errorf("limit %q: %w", lc.Name, err)
		}
		e = &connEntry{cfg: lc, cl: cl}
	}
	b.next.conns[lc.Name] = e
	return e.cl, nil
}

// tracker returns the auto-ban tracker of a route: the live one while its
// rule is unchanged, else a new one that commit starts.
func (s *state) tracker(b *build, routeName string, ab config.AutoBanConfig, opts acl.TrackerOptions, banner acl.Banner) (*acl.Tracker, error) {
	if e, ok := b.from.trackers[routeName]; ok && e.cfg == ab {
		b.next.trackers[routeName] = e
		return e.t, nil
	}
	t, err := acl.NewTracker(opts, banner)
	if err != nil {
		return nil, fmt.Errorf("auto_ban: %w", err)
	}
	b.next.trackers[routeName] = &trackerEntry{cfg: ab, t: t, w: &worker{run: func(ctx context.Context) { _ = t.Run(ctx) }}}
	return t, nil
}

// limiter returns the adaptive concurrency limiter of a service.
func (b *build) limiter(service string) (*adaptive.Limiter, error) {
	if l, ok := b.next.limiters[service]; ok {
		return l, nil
	}
	l, ok := b.from.limiters[service]
	if !ok {
		var err error
		if l, err = adaptive.New(adaptive.Options{}); err != nil {
			return nil, fmt.Errorf("service %q: %w", service, err)
		}
	}
	b.next.limiters[service] = l
	return l, nil
}

// commit puts a build in effect around swap, which serves the snapshot
// compiled with it: the build's new workers start and shared services take
// their new weights first, then swap runs, then what the live generation
// had and the build does not use is retired. After Shutdown it only swaps.
func (s *state) commit(b *build, swap func()) {
	s.mu.Lock()
	if !s.closed {
		for _, e := range b.next.services {
			s.start(e.health)
		}
		for _, e := range b.next.trackers {
			s.start(e.w)
		}
	}
	for e, w := range b.weights {
		if e.svc != nil && e.svc.SetWeights(w) == nil {
			e.weights = w
		}
	}
	s.mu.Unlock()
	swap()
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, e := range b.from.trackers {
		if b.next.trackers[name] != e {
			e.w.stop()
		}
	}
	for name, e := range b.from.services {
		if ne := b.next.services[name]; e.health != nil && (ne == nil || ne.health != e.health) {
			e.health.stop()
		}
	}
	s.live = b.next
	s.transport.Prune(b.next.routes...)
}

// discard drops a build that did not compile: nothing of it was started,
// and the upstream pools it may have opened are left to Prune.
func (s *state) discard(b *build) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live != nil {
		s.transport.Prune(s.live.routes...)
	}
}

// start runs w in the gateway's lifetime, tracked for Shutdown; a worker
// already running (shared with the live generation) is left alone. The
// caller holds mu.
func (s *state) start(w *worker) {
	if w == nil || w.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(s.runCtx)
	w.cancel = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		w.run(ctx)
	}()
}

// stop ends a started worker.
func (w *worker) stop() {
	if w != nil && w.cancel != nil {
		w.cancel()
	}
}

// service returns the proxy service for sc, the live one while its
// instance list is unchanged (so round-robin, in-flight counts and
// ejections carry on; new weights are put in effect by commit); nil when
// it has no instances.
func (s *state) service(b *build, sc config.ServiceConfig, loads []balance.Load) (*proxy.Service, error) {
	if e, ok := b.next.services[sc.Name]; ok {
		return e.svc, nil
	}
	weights := s.effectiveWeights(sc, loads)
	if e, ok := b.from.services[sc.Name]; ok && sameService(e.cfg, sc) {
		// A new entry sharing the service and its health checker: the
		// config may differ in weights and versions.
		ne := &serviceEntry{cfg: sc, svc: e.svc, weights: e.weights, health: e.health}
		if e.svc != nil && !slices.Equal(e.weights, weights) {
			b.weights[ne] = weights
		}
		b.next.services[sc.Name] = ne
		return ne.svc, nil
	}
	e, err := s.newService(b, sc, weights)
	if err != nil {
		return nil, err
	}
	b.next.services[sc.Name] = e
	return e.svc, nil
}

// sweep drops drained rate-limit keys; the gateway calls it periodically.
func (s *state) sweep() {
	s.mu.Lock()
	var zones []*ratelimit.Zone
	if s.live != nil {
		zones = make([]*ratelimit.Zone, 0, len(s.live.zones))
		for _, z := range s.live.zones {
			zones = append(zones, z)
		}
	}
	s.mu.Unlock()
	for _, z := range zones {
		z.Sweep()
	}
}

// close stops every worker (their contexts end with the gateway's, which
// the caller has cancelled) and waits for them; no build starts one after.
func (s *state) close() {
	s.mu.Lock()
	s.closed = true
	if s.live != nil {
		for _, e := range s.live.trackers {
			e.w.stop()
		}
		for _, e := range s.live.services {
			if e.health != nil {
				e.health.stop()
			}
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
}
