package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"

	"github.com/VictoriaMetrics/metrics"
	"github.com/redis/go-redis/v9"

	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/cidr"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/feed"
	"github.com/wharfhq/wharf/internal/logging"
	"github.com/wharfhq/wharf/internal/ops"
	"github.com/wharfhq/wharf/internal/store"
)

// base is what every long-running role has: logger, metrics, the internal
// listener (once its component started) and a channel for component failures.
type base struct {
	opts    config.Options
	log     *slog.Logger
	metrics *metrics.Set
	ops     *ops.Server
	failed  chan error
	// nsqSec secures the roles' nsqd connections (nil: plain, as in serve).
	nsqSec *bus.Security

	// configFile is the file the options came from ("" for none).
	configFile string
	// feed takes the gateway's own metrics: the monitor function when it
	// runs in this process (serve); nil: the gateway feeds nothing.
	feed feed.Sink
}

func newBase(opts config.Options, configFile string, stderr io.Writer, role string) (*base, error) {
	root, err := logging.New(stderr, opts.Log.Format, opts.Log.Level)
	if err != nil {
		return nil, err
	}
	log := root.With("role", role)
	if err := applyRuntime(opts.Runtime, log); err != nil {
		return nil, err
	}
	// go-redis logs through a package-level logger; send it to ours.
	redis.SetLogger(redisLogger{logging.Component(log, "redis")})
	set := metrics.NewSet()
	set.NewGauge(fmt.Sprintf(`wharf_build_info{version=%q,role=%q}`, version, role), func() float64 { return 1 })
	return &base{opts: opts, configFile: configFile, log: log, metrics: set, failed: make(chan error, 8)}, nil
}

// redisLogger routes go-redis's messages (dial failures and the like) to slog.
type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, args ...any) {
	r.l.WarnContext(ctx, fmt.Sprintf(format, args...))
}

// fail reports a component that stopped on its own.
func (b *base) fail(err error) {
	select {
	case b.failed <- err:
	default:
	}
}

// startGateway binds and runs a gateway over the given function router and
// store (edge config and bans). limits, when set, makes rate limits
// cluster-wide.
func (b *base) startGateway(fns gateway.Functions, st store.Store, stats *lateStats, limits *clusterLimits) (*gateway.Gateway, error) {
	var trusted []netip.Prefix
	for _, c := range b.opts.Gateway.TrustedProxies {
		p, err := cidr.Parse(c)
		if err != nil {
			return nil, err
		}
		trusted = append(trusted, p)
	}
	o := b.opts.Gateway
	tlsOpts, err := gatewayTLS(o.TLS)
	if err != nil {
		return nil, err
	}
	gopts := gateway.Options{
		TLS:                 tlsOpts,
		Listen:              o.Listen,
		TrustedProxies:      trusted,
		IPv6Prefix:          o.IPv6Prefix,
		ReadTimeout:         o.ReadTimeout,
		WriteTimeout:        o.WriteTimeout,
		IdleTimeout:         o.IdleTimeout,
		MaxBodyBytes:        o.MaxBodyBytes,
		Edge:                b.opts.Edge(),
		Store:               st,
		ConnectTimeout:      o.ConnectTimeout,
		ResponseTimeout:     o.ResponseTimeout,
		UpstreamIdleTimeout: o.UpstreamIdle,
		PipelineBatchDelay:  o.PipelineDelay,
		AccessLogEvery:      o.AccessLogEvery,
		Logger:              logging.Component(b.log, "gateway"),
		Metrics:             b.metrics,
	}
	if stats != nil {
		gopts.Deps = &stats.deps
	}
	if gopts.Feed, err = b.feedSink(""); err != nil {
		return nil, err
	}
	gopts.FeedStep = b.opts.Monitoring.MinStep
	if limits != nil {
		gopts.ClusterLimits = limits.newSet
		gopts.LimitMode = limits.mode
	}
	gw, err := gateway.New(gopts, fns)
	if err != nil {
		return nil, err
	}
	if stats != nil {
		stats.gw.Store(gw)
	}
	go func() {
		if err := gw.Run(); err != nil {
			b.fail(err)
		}
	}()
	return gw, nil
}

// displayURL turns a bound address into a URL a person can paste.
func displayURL(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return "http://" + a.String()
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(tcp.Port))
}
