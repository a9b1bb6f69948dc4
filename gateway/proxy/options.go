package proxy

import (
	"net"
	"time"

	"github.com/wharfhq/wharf/gateway/route"
)

// Defaults applied by NewTransport to zero Options fields.
const (
	DefaultConnectTimeout      = 2 * time.Second
	DefaultResponseTimeout     = 30 * time.Second
	DefaultIdleTimeout         = 90 * time.Second
	DefaultMaxBodyBytes        = 4 << 20
	DefaultMaxRetries          = 2
	DefaultReadBufferSize      = 16 << 10
	DefaultBufferResponseBytes = 64 << 10
	DefaultPruneGrace          = time.Minute
	DefaultPipelineBatchDelay  = 50 * time.Microsecond
	DefaultClientWatchDelay    = 100 * time.Millisecond
	// MaxPipelineConns bounds ServiceConfig.Pipeline.
	MaxPipelineConns = 64
)

// maxStaleRetries bounds the resends of one request after a pooled
// keep-alive connection turned out to be closed by the upstream (any request
// when nothing of it was sent, an idempotent one when it was sent and
// answered nothing). A connection found closed before writing also flushes
// the pool's idle connections, so one resend normally dials a fresh
// connection.
const maxStaleRetries = 2

// DialFunc opens a connection to addr ("host:port") within timeout.
type DialFunc func(addr string, timeout time.Duration) (net.Conn, error)

// Options configure a Transport. Zero fields take the defaults above.
type Options struct {
	// ConnectTimeout, ResponseTimeout and IdleTimeout are the defaults for
	// routes whose RouteConfig leaves them zero; see RouteConfig.
	ConnectTimeout  time.Duration
	ResponseTimeout time.Duration
	IdleTimeout     time.Duration
	// MaxBodyBytes is the request body limit of routes that set none.
	MaxBodyBytes int64
	// MaxRetries bounds how many other instances an idempotent request
	// without a body is sent to after a connect failure; the bound is also
	// len(instances)-1. Negative disables failover.
	MaxRetries int
	// MaxConnsPerAddr bounds the connections of one pool (address and
	// timeouts); 0 means fasthttp.DefaultMaxConnsPerHost.
	MaxConnsPerAddr int
	// MaxConnWaitTimeout is how long a request waits for a free connection
	// when a pool is full; 0 answers 503 at once.
	MaxConnWaitTimeout time.Duration
	// ReadBufferSize is the per-request read buffer for upstream responses;
	// it also bounds the size of an upstream's response headers.
	ReadBufferSize int
	// WriteBufferSize is the per-request write buffer; 0 is fasthttp's 4 KiB.
	WriteBufferSize int
	// BufferResponseBytes: upstream responses whose Content-Length is at most
	// this are read whole before the client is answered (the upstream
	// connection goes back to the pool at once and a failure still becomes a
	// 502); larger or chunked responses are streamed. Negative streams all.
	BufferResponseBytes int
	// PruneGrace is how long Prune keeps a pool that no live route uses.
	PruneGrace time.Duration
	// PipelineBatchDelay is how long a pipelined connection waits for more
	// requests to write together (default 50µs; negative: no waiting).
	PipelineBatchDelay time.Duration
	// ClientWatchDelay is how long a request may wait for its upstream
	// before the proxy starts watching the client's connection, so that a
	// client that goes away cancels the upstream exchange (and frees the
	// request's concurrency slots) instead of holding it until the response
	// timeout (default 100ms; negative: never watch). See clientWatch.
	ClientWatchDelay time.Duration
	// Dial opens upstream connections. Default: a dual-stack
	// fasthttp.TCPDialer owned by the Transport. Tests and benchmarks pass
	// in-memory listeners here.
	Dial DialFunc
}

func (o *Options) setDefaults() {
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.ResponseTimeout <= 0 {
		o.ResponseTimeout = DefaultResponseTimeout
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = DefaultMaxRetries
	}
	if o.ReadBufferSize <= 0 {
		o.ReadBufferSize = DefaultReadBufferSize
	}
	if o.BufferResponseBytes == 0 {
		o.BufferResponseBytes = DefaultBufferResponseBytes
	}
	if o.PruneGrace <= 0 {
		o.PruneGrace = DefaultPruneGrace
	}
	if o.PipelineBatchDelay == 0 {
		o.PipelineBatchDelay = DefaultPipelineBatchDelay
	}
	if o.ClientWatchDelay == 0 {
		o.ClientWatchDelay = DefaultClientWatchDelay
	}
}

// RouteConfig is the per-route part of proxying. Zero fields take the
// Transport's Options.
type RouteConfig struct {
	// ConnectTimeout bounds dialing one instance (and is further cut to
	// what is left of ResponseTimeout).
	ConnectTimeout time.Duration
	// ResponseTimeout is an absolute deadline for the whole exchange,
	// counted from Serve: waiting for a pooled connection, dialing, sending
	// the request (including a streamed body), and receiving the response
	// headers and body, also when the body is streamed to the client after
	// Serve returned. Retries share it.
	ResponseTimeout time.Duration
	// IdleTimeout closes pooled keep-alive connections unused this long.
	// Keep it below the upstream's own keep-alive timeout.
	IdleTimeout time.Duration
	// MaxBodyBytes limits the request body, streamed or not.
	MaxBodyBytes int64
	// Rewrite, when set, replaces the route's matched path prefix in the
	// upstream request target (the query is kept) and sets
	// X-Forwarded-Prefix; a route.Keep rewrite keeps the path. Either way
	// the upstream gets the client's path as sent when it is safe, and the
	// normalized path the router matched otherwise (see route.Rewrite).
	// nil is route.Keep("/") unless RawPath is set.
	Rewrite *route.Rewrite
	// RawPath, with no Rewrite, sends the client's request target as it
	// came, unnormalized: "/public/..;/admin" goes up as such even though
	// the gateway decided on "/public/..;/admin" and Tomcat reads
	// "/admin". Only for upstreams that need the exact target and do their
	// own access control (the route option pass_raw_path).
	RawPath bool
}
