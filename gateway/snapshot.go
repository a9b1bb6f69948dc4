package gateway

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wharfhq/wharf/gateway/acl"
	"github.com/wharfhq/wharf/gateway/balance"
	"github.com/wharfhq/wharf/gateway/proxy"
	"github.com/wharfhq/wharf/gateway/ratelimit"
	"github.com/wharfhq/wharf/gateway/registry"
	"github.com/wharfhq/wharf/gateway/rooms"
	"github.com/wharfhq/wharf/gateway/route"
	"github.com/wharfhq/wharf/gateway/traffic"
	"github.com/wharfhq/wharf/internal/config"
)

// snapshot is everything a request needs, compiled from one version of the
// edge config. It is immutable; the gateway swaps a new one in atomically and
// requests in flight finish on the one they started with.
type snapshot struct {
	version int64
	router  *route.Table
	global  *acl.Table
	routes  []*compiledRoute
	// rooms are the services with a room policy, by name.
	rooms map[string]*roomService
	// edgeAt is when the edge document compiled was last changed.
	edgeAt time.Time
}

// compiledRoute is one route ready for the hot path.
type compiledRoute struct {
	name     string
	acl      *acl.Table // nil: no route lists
	keys     []keySpec
	local    *ratelimit.Set // nil: no limits; also formats the RateLimit fields
	decide   func(keys [][]byte) ratelimit.Decision
	conns    []*ratelimit.ConnLimiter // concurrency limits, parallel to connKeys
	connKeys []keySpec
	tracker  *acl.Tracker // auto ban; nil when off
	function string       // function target, or ""
	service  string       // service target, or ""
	upstream *proxy.Route // the service's pooled upstream; nil when it has no instances
	sticky   bool         // the service chooses rooms per client
	// versions counts requests per instance address of a known version
	// (nil when no instance reports one).
	versions map[string]*traffic.Counter
	maxBody  int64
	timeouts config.TimeoutConfig
	m        *routeMetrics
}

// UploadMaxBody is the body limit of the built-in artifact upload route.
const UploadMaxBody = config.UploadMaxBody

// builtinRoutes are added when the config has no route with the same host
// and path (config.BuiltinRoutes, which the CLI lists too).
func builtinRoutes() []config.RouteConfig { return config.BuiltinRoutes() }

// compile builds a snapshot from e beside the one being served, reusing
// the live state (limit zones, upstream pools, health checkers, auto-ban
// trackers) for everything unchanged and changing none of it: the caller
// puts the result in effect with state.commit, or drops it with
// state.discard when compile failed.
func (g *Gateway) compile(version int64, e config.Edge) (*snapshot, *build, error) {
	b := g.state.begin()
	s, err := g.compileWith(b, version, e)
	if err != nil {
		return nil, b, err
	}
	return s, b, nil
}

func (g *Gateway) compileWith(b *build, version int64, e config.Edge) (*snapshot, error) {
	routes := slices.Clone(e.Routes)
	for _, br := range builtinRoutes() {
		if !slices.ContainsFunc(routes, func(r config.RouteConfig) bool { return r.Host == "" && r.Path == br.Path }) &&
			!slices.ContainsFunc(routes, func(r config.RouteConfig) bool { return r.Name == br.Name }) {
			routes = append(routes, br)
		}
	}
	global, err := b.aclTable(e.ACL.Allow, e.ACL.Deny)
	if err != nil {
		return nil, fmt.Errorf("cannot compile global ACL: %w", err)
	}
	specs := make([]route.Spec, len(routes))
	for i, r := range routes {
		specs[i] = route.Spec{Host: r.Host, Path: r.Path, Methods: r.Methods, Segment: r.SegmentMatch()}
	}
	router, err := route.Compile(specs)
	if err != nil {
		return nil, err
	}
	limits := map[string]config.LimitConfig{}
	for _, l := range e.Limits {
		limits[l.Name] = l
	}
	services, loads := g.registered(e.Services)
	s := &snapshot{version: version, router: router, global: global, rooms: map[string]*roomService{}}
	for _, r := range routes {
		cr, err := g.compileRoute(b, r, limits, services, loads)
		if err != nil {
			return nil, fmt.Errorf("cannot compile route %q: %w", r.Name, err)
		}
		s.routes = append(s.routes, cr)
		if sc := services[cr.service]; cr.upstream != nil && sc.Rooms != nil {
			s.rooms[sc.Name] = &roomService{policy: rooms.PolicyFromConfig(*sc.Rooms), svc: cr.upstream.Service()}
			cr.sticky = sc.Rooms.Sticky
		}
	}
	return s, nil
}

// registered merges the live registered instances into the configured
// services, with the load each reported.
func (g *Gateway) registered(configured []config.ServiceConfig) (map[string]config.ServiceConfig, map[string][]balance.Load) {
	var reg *registry.Snapshot
	if g.follower != nil {
		reg = g.follower.Snapshot()
	}
	now := time.Now()
	services := make(map[string]config.ServiceConfig, len(configured))
	loads := make(map[string][]balance.Load, len(configured))
	for _, s := range configured {
		services[s.Name], loads[s.Name] = withRegistered(s, reg.Instances(s.Name, now))
	}
	return services, loads
}

func (g *Gateway) compileRoute(b *build, r config.RouteConfig, limits map[string]config.LimitConfig, services map[string]config.ServiceConfig, loads map[string][]balance.Load) (*compiledRoute, error) {
	cr := &compiledRoute{name: r.Name, function: r.Function, maxBody: r.MaxBody, timeouts: r.Timeouts}
	if cr.maxBody <= 0 {
		cr.maxBody = int64(g.opts.MaxBodyBytes)
	}
	if len(r.ACL.Allow)+len(r.ACL.Deny) > 0 {
		t, err := b.aclTable(r.ACL.Allow, r.ACL.Deny)
		if err != nil {
			return nil, err
		}
		cr.acl = t
	}
	if r.Function != "" && g.fns != nil && !g.fns.HasFunction(r.Function) {
		return nil, fmt.Errorf("no function %q is registered", r.Function)
	}
	if r.Service != "" {
		sc, ok := services[r.Service]
		if !ok {
			return nil, fmt.Errorf("unknown service %q", r.Service)
		}
		cr.service = sc.Name
		rw, err := newRewrite(r)
		if err != nil {
			return nil, err
		}
		svc, err := g.state.service(b, sc, loads[sc.Name])
		if err != nil {
			return nil, err
		}
		if g.traffic != nil {
			for _, in := range sc.Instances {
				if in.Version == "" {
					continue
				}
				if cr.versions == nil {
					cr.versions = map[string]*traffic.Counter{}
				}
				cr.versions[in.Addr] = g.traffic.Counter(sc.Name, in.Version)
			}
		}
		if svc != nil {
			cr.upstream = g.state.transport.NewRoute(svc, proxy.RouteConfig{
				ConnectTimeout: r.Timeouts.Connect.D(), ResponseTimeout: r.Timeouts.Response.D(),
				IdleTimeout: r.Timeouts.Idle.D(), MaxBodyBytes: cr.maxBody, Rewrite: rw, RawPath: rw == nil,
			})
			b.next.routes = append(b.next.routes, cr.upstream)
		}
	}
	cr.m = newRouteMetrics(g.opts.Metrics, r.Name, r.Service)
	var zones []*ratelimit.Zone
	for _, name := range r.Limits {
		lc, ok := limits[name]
		if !ok {
			return nil, fmt.Errorf("unknown limit %q", name)
		}
		ks, err := parseKey(lc.Key, r.Name)
		if err != nil {
			return nil, err
		}
		if lc.Conn > 0 {
			cl, err := g.state.connLimiter(b, lc)
			if err != nil {
				return nil, err
			}
			cr.conns = append(cr.conns, cl)
			cr.connKeys = append(cr.connKeys, ks)
			continue
		}
		z, err := g.state.zone(b, lc)
		if err != nil {
			return nil, err
		}
		zones = append(zones, z)
		cr.keys = append(cr.keys, ks)
	}
	if len(zones) > 0 {
		set, err := ratelimit.NewSet(zones...)
		if err != nil {
			return nil, err
		}
		cr.local = set
		cr.decide = set.Decide
		if g.opts.ClusterLimits != nil {
			cs, err := g.opts.ClusterLimits(zones...)
			if err != nil {
				return nil, err
			}
			cr.decide = cs.Decide
		}
	}
	if ab := r.AutoBan; ab != nil && g.banner != nil {
		t, err := g.state.tracker(b, r.Name, *ab, acl.TrackerOptions{
			Threshold: ab.After, Window: ab.Within.D(), BanFor: ab.For.D(),
			Route: r.Name, IPv6Bits: g.ip.IPv6Prefix(), Logger: g.log,
			Reason: fmt.Sprintf("auto: rate limited %d times within %s on route %s", ab.After, ab.Within, r.Name),
		}, g.banner)
		if err != nil {
			return nil, err
		}
		cr.tracker = t
	}
	return cr, nil
}

// limitFromConfig turns a validated limit config into a ratelimit.Limit.
func limitFromConfig(lc config.LimitConfig) (ratelimit.Limit, error) {
	rate, err := ratelimit.ParseRate(strings.ReplaceAll(lc.Rate, " ", ""))
	if err != nil {
		return ratelimit.Limit{}, fmt.Errorf("limit %q: %w", lc.Name, err)
	}
	l := ratelimit.Limit{Name: lc.Name, Rate: rate, Burst: int64(lc.Burst), Delay: int64(lc.Delay), DryRun: lc.DryRun, Status: lc.Status}
	if lc.NoDelay {
		l.Delay = ratelimit.NoDelay
	}
	return l, nil
}

// withRegistered adds a service's live registered instances to the ones its
// config declares (an address already declared is not added twice), and
// returns the load every instance reported (zero for declared ones).
func withRegistered(sc config.ServiceConfig, reg []registry.Instance) (config.ServiceConfig, []balance.Load) {
	loads := make([]balance.Load, len(sc.Instances), len(sc.Instances)+len(reg))
	if len(reg) == 0 {
		return sc, loads
	}
	out := sc
	out.Instances = slices.Clone(sc.Instances)
	for _, in := range reg {
		if slices.ContainsFunc(out.Instances, func(c config.InstanceConfig) bool { return c.Addr == in.Addr }) {
			continue
		}
		out.Instances = append(out.Instances, config.InstanceConfig{Addr: in.Addr, Weight: in.Weight, Room: in.Room, Version: in.Version})
		var l balance.Load
		if in.Load != nil {
			l = balance.Load{CPU: in.Load.CPU, Memory: in.Load.Memory, InFlight: in.Load.InFlight, At: in.UpdatedAt}
		}
		loads = append(loads, l)
	}
	return out, loads
}
