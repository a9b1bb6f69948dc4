package proxy

import (
	"cmp"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway/route"
)

// poolKey identifies one connection pool: an address plus the settings
// fasthttp fixes per HostClient. Routes with default timeouts share one pool
// per address; a route with its own connect or idle timeout gets a pool of
// its own for each instance.
type poolKey struct {
	addr    string
	connect time.Duration
	idle    time.Duration
}

type pool struct {
	hc *fasthttp.HostClient
	// pipes are the pipelined clients of this address, by connection count.
	pipes map[int]*fasthttp.PipelineClient
	// pipeOK is set after an exchange with the address succeeded and
	// cleared when a pipelined connection cannot be dialled or breaks: only
	// then are requests pipelined to it, because fasthttp's PipelineClient
	// keeps queued requests waiting (until their deadline) while it redials
	// a dead address, where a HostClient fails at once and lets the request
	// fail over to another instance.
	pipeOK atomic.Bool
	// unusedSince is when Prune first found no live route using the pool;
	// zero while one does.
	unusedSince time.Time
}

// Transport owns the upstream connection pools: one fasthttp.HostClient per
// address (and connect/idle timeout). Routes built from successive config
// snapshots get the same HostClient for an address that is still present, so
// its keep-alive connections survive reloads. A Transport is safe for
// concurrent use; only NewRoute, Prune, Stats and Close take its lock, Serve
// never does.
type Transport struct {
	opts Options
	dial DialFunc

	mu    sync.Mutex
	pools map[poolKey]*pool

	calls sync.Pool // *call
	bufs  sync.Pool // *[]byte for streaming response bodies
	holds sync.Pool // *connHold: upstream connections held by a response body
	rt    roundTripper
}

// NewTransport returns a Transport with opts' zero fields defaulted.
func NewTransport(opts Options) *Transport {
	opts.setDefaults()
	t := &Transport{opts: opts, dial: opts.Dial, pools: make(map[poolKey]*pool)}
	if t.dial == nil {
		d := &fasthttp.TCPDialer{Concurrency: 1000}
		t.dial = d.DialDualStackTimeout
	}
	t.rt.t = t
	t.calls.New = func() any {
		c := new(call)
		c.watch.init(c.fireWatch)
		return c
	}
	t.bufs.New = func() any {
		b := make([]byte, 32<<10)
		return &b
	}
	return t
}

// NewRoute binds svc to pooled connections with cfg's timeouts and body
// limit (zero fields take the Transport's Options). Call it when compiling a
// config snapshot, not per request.
func (t *Transport) NewRoute(svc *Service, cfg RouteConfig) *Route {
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = t.opts.ConnectTimeout
	}
	if cfg.ResponseTimeout <= 0 {
		cfg.ResponseTimeout = t.opts.ResponseTimeout
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = t.opts.IdleTimeout
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = t.opts.MaxBodyBytes
	}
	if cfg.Rewrite == nil && !cfg.RawPath {
		cfg.Rewrite = route.Keep("/")
	}
	r := &Route{t: t, svc: svc, cfg: cfg, clients: make([]*fasthttp.HostClient, len(svc.instances))}
	if svc.pipeline > 0 {
		r.pipes = make([]*fasthttp.PipelineClient, len(svc.instances))
		r.pipeOK = make([]*atomic.Bool, len(svc.instances))
	}
	t.mu.Lock()
	for i, addr := range svc.instances {
		p := t.poolLocked(poolKey{addr: addr, connect: cfg.ConnectTimeout, idle: cfg.IdleTimeout})
		r.clients[i] = p.hc
		if r.pipes != nil {
			r.pipes[i] = t.pipeLocked(p, addr, svc.pipeline, cfg.ConnectTimeout, cfg.IdleTimeout)
			r.pipeOK[i] = &p.pipeOK
		}
	}
	t.mu.Unlock()
	return r
}

// pipeLocked returns the pipelined client of pool p with n connections,
// creating it on first use. t.mu must be held.
func (t *Transport) pipeLocked(p *pool, addr string, n int, connect, idle time.Duration) *fasthttp.PipelineClient {
	if pc := p.pipes[n]; pc != nil {
		return pc
	}
	if p.pipes == nil {
		p.pipes = make(map[int]*fasthttp.PipelineClient)
	}
	delay := t.opts.PipelineBatchDelay
	if delay < 0 {
		delay = 0
	}
	dial := t.dial
	ok := &p.pipeOK
	pc := &fasthttp.PipelineClient{
		Addr:                     addr,
		MaxConns:                 n,
		MaxPendingRequests:       4096,
		MaxBatchDelay:            delay,
		MaxIdleConnDuration:      idle,
		ReadBufferSize:           t.opts.ReadBufferSize,
		WriteBufferSize:          t.opts.WriteBufferSize,
		NoDefaultUserAgentHeader: true,
		DisablePathNormalizing:   true,
		Logger:                   quietLogger{},
		Dial: func(addr string) (net.Conn, error) {
			c, err := dial(addr, connect)
			if err != nil {
				ok.Store(false)
				// fasthttp redials at once while requests are queued;
				// pace it (no new requests are pipelined meanwhile).
				time.Sleep(min(connect, 100*time.Millisecond))
				return nil, &dialError{addr: addr, err: err}
			}
			return c, nil
		},
	}
	p.pipes[n] = pc
	return pc
}

func (t *Transport) poolLocked(k poolKey) *pool {
	if p := t.pools[k]; p != nil {
		p.unusedSince = time.Time{}
		return p
	}
	p := &pool{hc: &fasthttp.HostClient{
		Addr:                      k.addr,
		DialTimeout:               dialer(t.dial, k.connect),
		NoDefaultUserAgentHeader:  true,
		MaxConns:                  t.opts.MaxConnsPerAddr,
		MaxIdleConnDuration:       k.idle,
		MaxConnWaitTimeout:        t.opts.MaxConnWaitTimeout,
		MaxIdemponentCallAttempts: 1,
		RetryIfErr:                func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
		ReadBufferSize:            t.opts.ReadBufferSize,
		WriteBufferSize:           t.opts.WriteBufferSize,
		DisablePathNormalizing:    true,
		SecureErrorLogMessage:     true,
		StreamResponseBody:        true,
		ConnPoolStrategy:          fasthttp.LIFO,
		Transport:                 &t.rt,
	}}
	t.pools[k] = p
	return p
}

// Prune forgets the pools that none of live uses and that have had no
// request for Options.PruneGrace, closing their idle connections; it returns
// how many it dropped. Call it after swapping in a new config snapshot (with
// that snapshot's routes) and from time to time. Requests still running on
// a dropped pool finish normally; routes of older snapshots keep working on
// their own, just without sharing.
func (t *Transport) Prune(live ...*Route) int { return t.prune(live, t.opts.PruneGrace) }

// PruneNow is Prune without the grace period: pools no live route uses are
// dropped at once.
func (t *Transport) PruneNow(live ...*Route) int { return t.prune(live, 0) }

func (t *Transport) prune(live []*Route, grace time.Duration) int {
	used := make(map[*fasthttp.HostClient]bool)
	for _, r := range live {
		for _, hc := range r.clients {
			used[hc] = true
		}
	}
	now := time.Now()
	var drop []*fasthttp.HostClient
	t.mu.Lock()
	for k, p := range t.pools {
		if used[p.hc] {
			p.unusedSince = time.Time{}
			continue
		}
		if p.unusedSince.IsZero() {
			p.unusedSince = now
		}
		quiet := now.Sub(p.unusedSince) >= grace && now.Sub(p.hc.LastUseTime()) >= grace && p.hc.PendingRequests() == 0
		if grace == 0 || quiet {
			delete(t.pools, k)
			drop = append(drop, p.hc)
		}
	}
	t.mu.Unlock()
	for _, hc := range drop {
		hc.CloseIdleConnections()
	}
	return len(drop)
}

// Close closes every pool's idle connections and forgets all pools. Requests
// in flight finish; their connections are closed by the pools' idle cleaners.
func (t *Transport) Close() {
	t.mu.Lock()
	pools := t.pools
	t.pools = make(map[poolKey]*pool)
	t.mu.Unlock()
	for _, p := range pools {
		p.hc.CloseIdleConnections()
	}
}

// PoolStats describes one connection pool.
type PoolStats struct {
	Addr           string
	ConnectTimeout time.Duration
	IdleTimeout    time.Duration
	// Conns counts open connections, Idle those waiting in the pool.
	Conns, Idle int
	// Pending counts requests in flight.
	Pending int
}

// Stats lists the pools, sorted by address.
func (t *Transport) Stats() []PoolStats {
	t.mu.Lock()
	out := make([]PoolStats, 0, len(t.pools))
	for k, p := range t.pools {
		out = append(out, PoolStats{
			Addr: k.addr, ConnectTimeout: k.connect, IdleTimeout: k.idle,
			Conns: p.hc.ConnsCount(), Idle: p.hc.IdleConnsCount(), Pending: p.hc.PendingRequests(),
		})
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b PoolStats) int {
		return cmp.Or(cmp.Compare(a.Addr, b.Addr), cmp.Compare(a.ConnectTimeout, b.ConnectTimeout), cmp.Compare(a.IdleTimeout, b.IdleTimeout))
	})
	return out
}

// quietLogger drops fasthttp's PipelineClient messages (a failed redial is
// reported through the requests' outcomes instead).
type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}
