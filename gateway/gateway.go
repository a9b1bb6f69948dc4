// Package gateway is Wharf's fasthttp edge: its own dual-stack listener, the
// real client IP, bans and allow/deny lists, nginx-exact rate limits and
// concurrency limits, routing by host and path, and the reverse proxy to
// services or dispatch to functions registered in-process — all driven by an
// immutable config snapshot that is recompiled and swapped atomically when
// the edge config changes in the store.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway/acl"
	"github.com/wharfhq/wharf/gateway/balance"
	"github.com/wharfhq/wharf/gateway/edge"
	"github.com/wharfhq/wharf/gateway/proxy"
	"github.com/wharfhq/wharf/gateway/ratelimit"
	"github.com/wharfhq/wharf/gateway/realip"
	"github.com/wharfhq/wharf/gateway/registry"
	"github.com/wharfhq/wharf/gateway/roomswitch"
	"github.com/wharfhq/wharf/gateway/traffic"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/feed"
	"github.com/wharfhq/wharf/internal/store"
)

// Functions are the in-process functions routes can target.
type Functions interface {
	// ServeFunction serves the request with the function called name ("api":
	// any registered function) and reports false when none of its routes
	// matches the path.
	// maxBody is the route's request body limit: the function must not
	// read more (see internal/bodylimit).
	ServeFunction(name string, ctx *fasthttp.RequestCtx, requestID string, maxBody int64) bool
	// HasFunction reports whether name can be served.
	HasFunction(name string) bool
}

// LimitSet decides one request against a route's limits.
type LimitSet interface {
	Decide(keys [][]byte) ratelimit.Decision
}

// Options configures a Gateway.
type Options struct {
	// Listen is the address to bind, e.g. ":8080" (IPv4 and IPv6) or
	// "127.0.0.1:0"; empty with TLS set: no plain listener.
	Listen string
	// TLS, when set, adds an HTTPS listener (see TLSOptions).
	TLS *TLSOptions
	// TrustedProxies are peers whose X-Forwarded-For and X-Request-Id are believed.
	TrustedProxies []netip.Prefix
	// IPv6Prefix aggregates IPv6 clients for limits and bans (default 64).
	IPv6Prefix   int
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
	// MaxBodyBytes is the request body limit of routes without max_body_bytes.
	MaxBodyBytes int
	// Edge is the edge config to start with. With a Store it is replaced by
	// the stored document as soon as that is read, and kept in sync with it.
	Edge config.Edge
	// Store, when set, holds the edge document (watched) and the bans.
	Store store.Store
	// Deps are the parts over Store the gateway follows and writes; nil:
	// New builds them (NewDeps). They need a Store.
	Deps *Deps
	// ClusterLimits, when set, makes the set that decides a route's rate
	// limits across every gateway node (see gateway/ratelimit/cluster);
	// otherwise limits are local to this node.
	ClusterLimits func(zones ...*ratelimit.Zone) (LimitSet, error)
	// LimitMode reports the cluster limiter's mode for Stats.
	LimitMode func() string
	// LimitClock, when set, is the clock of the local rate limits in
	// milliseconds (tests play request timelines on it); nil: a monotonic
	// clock started at New. Cluster limits use Redis time.
	LimitClock func() int64
	// Upstream defaults for routes without timeouts.
	ConnectTimeout, ResponseTimeout, UpstreamIdleTimeout time.Duration
	// PipelineBatchDelay is how long a pipelined upstream connection waits
	// to write queued requests together (services with pipeline > 0).
	PipelineBatchDelay time.Duration
	// UpstreamDial replaces the TCP dialer for upstream connections
	// (benchmarks use in-memory listeners).
	UpstreamDial proxy.DialFunc
	// AccessLogEvery logs one of every N requests (0: no access log; 1: all).
	// Server errors (5xx) are logged whenever the access log is on.
	AccessLogEvery int
	// DrainBytes and DrainTimeout bound how much of a request body left
	// unread by an early answer is discarded to keep the connection
	// (defaults DefaultDrainBytes, DefaultDrainTimeout); past them the
	// connection is closed. LingerTimeout and LingerBytes bound the
	// lingering close that follows (DefaultLingerTimeout, DefaultLingerBytes).
	DrainBytes    int64
	DrainTimeout  time.Duration
	LingerTimeout time.Duration
	LingerBytes   int64
	Logger        *slog.Logger
	Metrics       *metrics.Set
	// Feed, when set, gets this node's per-route and per-service points
	// (wharf.route.*, wharf.service.*) every FeedStep (see selffeed.go).
	Feed feed.Sink
	// FeedStep is the feed's step; default 30s (monitoring.min_step).
	FeedStep time.Duration
	// FeedEndpoint is the points' endpoint (the node id or hostname).
	FeedEndpoint string
}

// Gateway is one edge node: a listener and the request path over an
// atomically swapped config snapshot.
type Gateway struct {
	opts   Options
	ln     net.Listener
	srv    *fasthttp.Server
	fns    Functions
	ids    *requestIDs
	ip     *realip.Resolver
	log    *slog.Logger
	m      *gatewayMetrics
	snap   atomic.Pointer[snapshot]
	state  state
	edge   *edge.Store
	bans   *acl.BanSet
	banner acl.Banner
	runCtx context.Context
	stop   context.CancelFunc
	bg     sync.WaitGroup
	// bgMu orders background's starts against Shutdown's Wait: loops start
	// before Shutdown begins or not at all (WaitGroup.Add must not race Wait).
	bgMu   sync.Mutex
	closed atomic.Bool
	logSeq atomic.Uint64
	// rebuildMu orders snapshot rebuilds (config versions, registry
	// changes); edgeNow is the edge config they compile.
	rebuildMu sync.Mutex
	edgeNow   config.Edge
	edgeAt    time.Time
	follower  *registry.Follower
	// expiryMu guards expiry, the next instance TTL expiry; expiryKick
	// tells the expiry loop that it changed.
	expiryMu   sync.Mutex
	expiry     time.Time
	expiryKick chan struct{}
	keyBufs    sync.Pool // *keyBuf: limit keys are built without allocating
	drainBufs  sync.Pool // *[16 << 10]byte for discarding unread bodies
	applied    atomic.Int64
	// reweighs counts registry changes put in effect as new weights only.
	reweighs atomic.Uint64
	rooms    *roomsCtl
	switches *roomswitch.Store
	// traffic counts requests per service version (nil without a store).
	traffic *traffic.Recorder
	// tls is the HTTPS listener and its certificates (nil without TLS).
	tls *tlsEdge
}

// New compiles the initial config and binds the listener, so Addr is known
// before Run. With a Store, the stored edge document (if readable within a
// few seconds) is used instead of opts.Edge.
func New(opts Options, fns Functions) (*Gateway, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.FeedStep <= 0 {
		opts.FeedStep = 30 * time.Second
	}
	if opts.FeedEndpoint == "" {
		opts.FeedEndpoint, _ = os.Hostname()
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.NewSet()
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 4 << 20
	}
	if opts.DrainBytes <= 0 {
		opts.DrainBytes = DefaultDrainBytes
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = DefaultDrainTimeout
	}
	if opts.LingerTimeout <= 0 {
		opts.LingerTimeout = DefaultLingerTimeout
	}
	if opts.LingerBytes <= 0 {
		opts.LingerBytes = DefaultLingerBytes
	}
	ip, err := realip.New(realip.Options{TrustedProxies: opts.TrustedProxies, IPv6Prefix: opts.IPv6Prefix})
	if err != nil {
		return nil, fmt.Errorf("cannot create gateway: %w", err)
	}
	ids, err := newRequestIDs()
	if err != nil {
		return nil, err
	}
	if opts.Deps != nil && opts.Store == nil {
		return nil, errors.New("cannot create gateway: Deps need a Store")
	}
	g := &Gateway{opts: opts, fns: fns, ids: ids, ip: ip, log: opts.Logger, m: newGatewayMetrics(opts.Metrics), expiryKick: make(chan struct{}, 1)}
	g.runCtx, g.stop = context.WithCancel(context.Background())
	g.keyBufs.New = func() any { return new(keyBuf) }
	g.drainBufs.New = func() any { return new([16 << 10]byte) }
	weigher, err := balance.NewWeigher(balance.WeightOptions{})
	if err != nil {
		return nil, fmt.Errorf("cannot create gateway: %w", err)
	}
	g.state = state{
		reg: ratelimit.NewRegistry(opts.LimitClock), runCtx: g.runCtx, weigher: weigher,
		transport: proxy.NewTransport(proxy.Options{
			ConnectTimeout: opts.ConnectTimeout, ResponseTimeout: opts.ResponseTimeout,
			IdleTimeout: opts.UpstreamIdleTimeout, MaxBodyBytes: int64(opts.MaxBodyBytes),
			Dial: opts.UpstreamDial, PipelineBatchDelay: opts.PipelineBatchDelay,
		}),
	}
	initial, version, edgeAt := opts.Edge, int64(0), time.Time{}
	if opts.Store != nil {
		deps := opts.Deps
		if deps == nil {
			d, err := NewDeps(opts.Store, DepsOptions{IPv6Prefix: ip.IPv6Prefix(), Logger: g.log})
			if err != nil {
				return nil, err
			}
			deps = &d
		}
		if deps.Edge == nil || deps.Bans == nil || deps.BanManager == nil || deps.Switches == nil || deps.Follower == nil {
			return nil, errors.New("cannot create gateway: Deps incomplete (use NewDeps)")
		}
		g.edge, g.bans, g.banner, g.switches, g.follower = deps.Edge, deps.Bans, deps.BanManager, deps.Switches, deps.Follower
		g.follower.Notify(g.onRegistry)
		g.traffic = traffic.NewRecorder(opts.Store, ids.node(), g.log)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		d, _, err := g.edge.Get(ctx)
		cancel()
		switch {
		case err != nil:
			g.log.Warn("cannot read the stored edge config; starting with the file's until the store answers", "err", err)
		case d.Version > 0:
			initial, version, edgeAt = d.Edge, d.Version, d.UpdatedAt
		}
	}
	g.rooms = newRoomsCtl(g.log, opts.Metrics, g.switches)
	g.state.onHealth = g.rooms.kick
	if g.switches != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		g.rooms.load(ctx, opts.Store, g.switches)
		cancel()
	}
	snap, b, err := g.compile(version, initial)
	if err != nil {
		g.stop()
		return nil, fmt.Errorf("cannot compile edge config: %w", err)
	}
	snap.edgeAt = edgeAt
	g.edgeNow, g.edgeAt = initial, edgeAt
	g.swap(snap, b)
	g.applied.Store(version)
	if opts.Listen != "" || opts.TLS == nil {
		ln, err := net.Listen("tcp", opts.Listen)
		if err != nil {
			g.stop()
			g.state.close()
			return nil, fmt.Errorf("cannot listen on gateway address %s: %w", opts.Listen, err)
		}
		ll := newLingerListener(ln, true, opts.LingerTimeout, opts.LingerBytes)
		ll.writeSlack = int64(opts.WriteTimeout / writeSlackDivisor)
		g.ln = ll
	}
	g.srv = &fasthttp.Server{
		Handler:                      g.handle,
		ErrorHandler:                 g.handleParseError,
		Name:                         "wharf",
		ReadTimeout:                  opts.ReadTimeout,
		WriteTimeout:                 opts.WriteTimeout,
		IdleTimeout:                  opts.IdleTimeout,
		StreamRequestBody:            true,
		MaxRequestBodySize:           opts.MaxBodyBytes,
		CloseOnShutdown:              true,
		DisablePreParseMultipartForm: true,
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		Logger:                       newFasthttpLogger(g.log),
		SecureErrorLogMessage:        true,
		// Idle worker goroutines (between connections) go after 2 s, not
		// fasthttp's 10 s: its pool's cleaner sleeps this long between
		// rounds, so a stopped gateway's last goroutine ends within it.
		MaxIdleWorkerDuration: maxIdleWorker,
	}
	if err := g.setupTLS(); err != nil {
		g.stop()
		g.state.close()
		if g.ln != nil {
			_ = g.ln.Close()
		}
		return nil, fmt.Errorf("cannot set up gateway TLS: %w", err)
	}
	return g, nil
}

// maxIdleWorker is how long an idle fasthttp worker goroutine is kept.
const maxIdleWorker = 2 * time.Second

// Addr is the bound plain-HTTP address (the HTTPS one without a plain listener).
func (g *Gateway) Addr() net.Addr {
	if g.ln == nil {
		return g.TLSAddr()
	}
	return g.ln.Addr()
}

// ConfigVersion is the version of the edge config being served (0: the
// file's, not yet from the store).
func (g *Gateway) ConfigVersion() int64 { return g.applied.Load() }

// Run serves until Shutdown is called or the listener fails. With a Store it
// also keeps the config and the bans in sync.
func (g *Gateway) Run() error {
	g.background()
	return g.serveListeners()
}

// background starts the loops that follow the store and sweep idle state.
func (g *Gateway) background() {
	g.bgMu.Lock()
	defer g.bgMu.Unlock()
	if g.closed.Load() {
		return
	}
	run := func(f func(context.Context)) {
		g.bg.Add(1)
		go func() { defer g.bg.Done(); f(g.runCtx) }()
	}
	if g.tls != nil {
		run(g.tls.certs.Run) // certificate reloads
	}
	if g.edge != nil {
		run(func(ctx context.Context) { _ = g.edge.Watch(ctx, g.apply) })
		run(func(ctx context.Context) { _ = g.bans.Run(ctx) })
		run(func(ctx context.Context) { _ = g.follower.Run(ctx) })
		run(func(ctx context.Context) {
			_ = g.rooms.follow(ctx, g.switches, g.opts.Store, func() { g.evaluateRooms() })
		})
		run(g.traffic.Run)
		run(g.followExpiry)
	}
	if g.opts.Feed != nil {
		sf := newSelfFeed(g, g.opts.FeedEndpoint, g.opts.FeedStep)
		run(func(ctx context.Context) {
			feed.Run(ctx, feed.Options{Step: g.opts.FeedStep, Collect: sf.collect, Sink: g.opts.Feed, Logger: g.log,
				Metrics: g.opts.Metrics, Source: "gateway"})
		})
	}
	run(func(ctx context.Context) {
		t := time.NewTicker(RoomEvaluateEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-g.rooms.kicked:
				g.evaluateRooms() // an instance's health turned
			case <-t.C:
				if g.rooms.tick(ctx) {
					g.log.Debug("room switch step taken")
				}
				g.evaluateRooms()
			}
		}
	})
	run(func(ctx context.Context) {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				g.state.sweep()
			}
		}
	})
}

// apply compiles and swaps in a new version of the edge config. A version
// that does not compile is logged and the current one stays, with all its
// state.
func (g *Gateway) apply(d edge.Doc) {
	g.rebuildMu.Lock()
	defer g.rebuildMu.Unlock()
	if d.Version <= g.applied.Load() && d.Version != 0 {
		return
	}
	snap, b, err := g.compile(d.Version, d.Edge)
	if err != nil {
		g.state.discard(b)
		g.m.reloadErrors.Inc()
		g.log.Error("edge config not applied; keeping the current one", "version", d.Version, "err", err)
		return
	}
	g.edgeNow, g.edgeAt = d.Edge, d.UpdatedAt
	snap.edgeAt = d.UpdatedAt
	g.swap(snap, b)
	g.applied.Store(d.Version)
	g.m.reloads.Inc()
	g.log.Info("edge config applied", "version", d.Version, "routes", len(d.Routes), "by", d.UpdatedBy)
}

// swap serves snap, compiled with b: b's new workers start, the rooms of
// snap are evaluated before it serves a request, and the state only the
// old snapshot used is retired after. The caller holds rebuildMu.
func (g *Gateway) swap(snap *snapshot, b *build) {
	g.state.commit(b, func() {
		g.rooms.evaluate(snap, time.Now())
		g.snap.Store(snap)
	})
}

// rebuild recompiles the current edge config, e.g. because registered
// instances changed or one's TTL ran out.
func (g *Gateway) rebuild(why string) {
	g.rebuildMu.Lock()
	defer g.rebuildMu.Unlock()
	g.rebuildLocked(why)
}

func (g *Gateway) rebuildLocked(why string) {
	snap, b, err := g.compile(g.applied.Load(), g.edgeNow)
	if err != nil {
		g.state.discard(b)
		g.m.reloadErrors.Inc()
		g.log.Error("gateway snapshot not rebuilt; keeping the current one", "why", why, "err", err)
		return
	}
	snap.edgeAt = g.edgeAt
	g.swap(snap, b)
	g.m.registryRebuilds.Inc()
}

// evaluateRooms re-evaluates the rooms of the snapshot being served.
func (g *Gateway) evaluateRooms() {
	g.rebuildMu.Lock()
	defer g.rebuildMu.Unlock()
	g.rooms.evaluate(g.snap.Load(), time.Now())
}

// Shutdown stops accepting connections, waits for in-flight requests to
// finish until ctx ends, then stops the background loops.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.bgMu.Lock()
	g.closed.Store(true)
	g.bgMu.Unlock()
	err := g.srv.ShutdownWithContext(ctx)
	if terr := g.shutdownTLS(ctx); err == nil {
		err = terr
	}
	// Close the listener ourselves too: if Run has not reached Serve yet,
	// fasthttp does not know it, and Serve would block forever on it.
	if g.ln != nil {
		_ = g.ln.Close()
	}
	g.stop()
	g.bg.Wait()
	g.rebuildMu.Lock() // no build is between compile and commit
	g.state.close()
	g.rebuildMu.Unlock()
	g.state.transport.Close()
	if err != nil {
		var open, lingering int
		if ll, ok := g.ln.(*lingerListener); ok {
			open, lingering = ll.counts()
		}
		return fmt.Errorf("cannot drain gateway (%d connections open, %d lingering): %w", open, lingering, err)
	}
	return nil
}
