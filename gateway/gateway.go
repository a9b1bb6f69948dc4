// Package gateway is Wharf's fasthttp edge: its own dual-stack listener, a
// request id on every request, JSON errors, metrics, and dispatch to functions
// registered in-process. Routing to services, ACLs and rate limits build on it.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/httperr"
)

// Functions serves function routes; it reports false when no route matches the path.
type Functions interface {
	Serve(ctx *fasthttp.RequestCtx, requestID string) bool
}

// Options configures a Gateway.
type Options struct {
	// Listen is the address to bind, e.g. ":8080" (IPv4 and IPv6) or "127.0.0.1:0".
	Listen string
	// TrustedProxies are peers whose X-Request-Id (and later X-Forwarded-For) are believed.
	TrustedProxies []netip.Prefix
	ReadTimeout    time.Duration
	WriteTimeout   time.Duration
	IdleTimeout    time.Duration
	MaxBodyBytes   int
	Logger         *slog.Logger
	Metrics        *metrics.Set
}

// Gateway is one edge listener.
type Gateway struct {
	opts   Options
	ln     net.Listener
	srv    *fasthttp.Server
	fns    Functions
	ids    *requestIDs
	log    *slog.Logger
	m      *gatewayMetrics
	closed atomic.Bool
}

// New binds the listener, so Addr is known before Run.
func New(opts Options, fns Functions) (*Gateway, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.NewSet()
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 4 << 20
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on gateway address %s: %w", opts.Listen, err)
	}
	ids, err := newRequestIDs()
	if err != nil {
		ln.Close()
		return nil, err
	}
	g := &Gateway{opts: opts, ln: ln, fns: fns, ids: ids, log: opts.Logger, m: newGatewayMetrics(opts.Metrics)}
	g.srv = &fasthttp.Server{
		Handler:                      g.handle,
		ErrorHandler:                 g.handleParseError,
		Name:                         "wharf",
		ReadTimeout:                  opts.ReadTimeout,
		WriteTimeout:                 opts.WriteTimeout,
		IdleTimeout:                  opts.IdleTimeout,
		MaxRequestBodySize:           opts.MaxBodyBytes,
		CloseOnShutdown:              true,
		DisablePreParseMultipartForm: true,
		Logger:                       fasthttpLogger{g.log},
	}
	return g, nil
}

// Addr is the bound address.
func (g *Gateway) Addr() net.Addr { return g.ln.Addr() }

// Run serves until Shutdown is called or the listener fails.
func (g *Gateway) Run() error {
	err := g.srv.Serve(g.ln)
	if err != nil && !g.closed.Load() {
		return fmt.Errorf("gateway stopped: %w", err)
	}
	return nil
}

// Shutdown stops accepting connections and waits for in-flight requests to
// finish until ctx ends.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.closed.Store(true)
	err := g.srv.ShutdownWithContext(ctx)
	// Close the listener ourselves too: if Run has not reached Serve yet,
	// fasthttp does not know it, and Serve would block forever on it.
	_ = g.ln.Close()
	if err != nil {
		return fmt.Errorf("cannot drain gateway: %w", err)
	}
	return nil
}

func (g *Gateway) handle(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	g.m.inflight.Inc()
	rid := g.requestID(ctx)
	ctx.Response.Header.Set(HeaderRequestID, rid)
	if g.fns == nil || !g.fns.Serve(ctx, rid) {
		httperr.Write(ctx, g.log, rid, httperr.NotFound("no route for %s%s", ctx.Host(), ctx.Path()))
	}
	g.m.inflight.Dec()
	g.m.observe(ctx.Response.StatusCode(), start)
}

// handleParseError answers requests fasthttp could not read.
func (g *Gateway) handleParseError(ctx *fasthttp.RequestCtx, err error) {
	start := time.Now()
	rid := g.ids.next()
	ctx.Response.Header.Set(HeaderRequestID, rid)
	var he *httperr.Error
	var te interface{ Timeout() bool }
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		he = httperr.New(fasthttp.StatusRequestEntityTooLarge, "request body exceeds %d bytes", g.opts.MaxBodyBytes)
	case errors.As(err, &te) && te.Timeout():
		he = httperr.New(fasthttp.StatusRequestTimeout, "request not received in time")
	default:
		he = httperr.BadRequest("malformed request: %v", err)
	}
	httperr.Write(ctx, nil, rid, he)
	g.m.observe(he.Status, start)
}

// fasthttpLogger routes fasthttp's own messages to slog.
type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) {
	f.l.Warn(fmt.Sprintf(format, args...))
}
