package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/redis/go-redis/v9"
)

// Defaults for Options.
const (
	DefaultPrefix         = "wharf:rl:"
	DefaultTimeout        = 5 * time.Millisecond
	DefaultHeartbeatEvery = time.Second
	DefaultNodeTTL        = 3 * time.Second
	DefaultProbeEvery     = 250 * time.Millisecond
	DefaultFallbackAfter  = 3
)

// ttlMargin is added to every state key's drain time before it expires.
const ttlMargin = 1000

// Options configure a Cluster.
type Options struct {
	// Client is the shared Redis (required). See ClientOptions.
	Client redis.UniversalClient
	// Prefix namespaces every key (default DefaultPrefix).
	Prefix string
	// Timeout bounds one decision in Redis (default 5 ms).
	Timeout time.Duration
	// NodeID names this node in the node set (default host/pid/random).
	NodeID string
	// HeartbeatEvery is the heartbeat period (default 1 s).
	HeartbeatEvery time.Duration
	// NodeTTL is how long a node counts as live after its last heartbeat
	// (default 3 s); it must exceed HeartbeatEvery and be the same on every node.
	NodeTTL time.Duration
	// ProbeEvery is the Redis probe period in fallback mode (default 250 ms).
	ProbeEvery time.Duration
	// FallbackAfter is the number of consecutive failed decisions that
	// switch the node to fallback mode (default 3). A lone timeout (a GC
	// pause, a busy moment) is decided locally without a switch.
	FallbackAfter int
	// Logger receives transitions (default: discard).
	Logger *slog.Logger
	// Metrics receives the counters and gauges (default: a private set).
	// Use one set per Cluster: the metric names carry no node label.
	Metrics *metrics.Set
}

// Mode says where decisions are made.
type Mode int32

const (
	// ModeCluster: decisions are made in Redis.
	ModeCluster Mode = iota
	// ModeFallback: Redis failed; decisions are local at Rate/N.
	ModeFallback
)

// String returns "cluster" or "fallback".
func (m Mode) String() string {
	switch m {
	case ModeCluster:
		return "cluster"
	case ModeFallback:
		return "fallback"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// Cluster is one node's handle on the shared Redis. It is safe for
// concurrent use; Run must be running for node counting and recovery.
type Cluster struct {
	opts     Options
	rdb      redis.UniversalClient
	log      *slog.Logger
	decide   *redis.Script
	beat     *redis.Script
	nodesKey string
	margin   string

	mode          atomic.Int32
	failures      atomic.Int32 // consecutive failed decisions
	nodes         atomic.Int64
	fallbackSince atomic.Int64 // unix ns

	// clock, when set (tests), replaces Redis TIME in decisions.
	clock func() int64

	fallbacks, recoveries, redisErrors *metrics.Counter
	remoteDecisions, localDecisions    *metrics.Counter
}

// ClientOptions returns go-redis options suited to rate-limit decisions:
// context deadlines are honoured (so Timeout bounds a decision); commands and
// dials are tried once (a retry cannot fit in the budget, and a decision
// script is not idempotent); no idle connections are pre-dialled (the pool
// would keep re-dialling a dead Redis in the background). Connections are
// reused, so the request path only dials when the pool grows or after a
// failure.
func ClientOptions(addr string) *redis.Options {
	return &redis.Options{
		Addr:                  addr,
		ContextTimeoutEnabled: true,
		MaxRetries:            -1,
		DialerRetries:         1,
		DialTimeout:           time.Second,
		ReadTimeout:           time.Second,
		WriteTimeout:          time.Second,
	}
}

// New validates opts and returns a Cluster in cluster mode with one known
// node. It does not contact Redis; Run does.
func New(opts Options) (*Cluster, error) {
	if opts.Client == nil {
		return nil, errors.New("cannot create rate limit cluster: Client is required")
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.HeartbeatEvery == 0 {
		opts.HeartbeatEvery = DefaultHeartbeatEvery
	}
	if opts.NodeTTL == 0 {
		opts.NodeTTL = DefaultNodeTTL
	}
	if opts.ProbeEvery == 0 {
		opts.ProbeEvery = DefaultProbeEvery
	}
	if opts.FallbackAfter == 0 {
		opts.FallbackAfter = DefaultFallbackAfter
	}
	if opts.Timeout < 0 || opts.HeartbeatEvery < 0 || opts.ProbeEvery < 0 || opts.FallbackAfter < 0 {
		return nil, errors.New("cannot create rate limit cluster: durations and FallbackAfter must be positive")
	}
	if opts.NodeTTL <= opts.HeartbeatEvery {
		return nil, fmt.Errorf("cannot create rate limit cluster: NodeTTL %v must exceed HeartbeatEvery %v", opts.NodeTTL, opts.HeartbeatEvery)
	}
	if opts.NodeID == "" {
		id, err := defaultNodeID()
		if err != nil {
			return nil, fmt.Errorf("cannot create rate limit cluster: %w", err)
		}
		opts.NodeID = id
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.NewSet()
	}
	log := opts.Logger.With("component", "ratelimit-cluster", "node", opts.NodeID)
	switch c := opts.Client.(type) {
	case *redis.ClusterClient:
		if !hasHashTag(opts.Prefix) {
			return nil, fmt.Errorf("cannot create rate limit cluster: prefix %q needs a hash tag such as {wharf:rl} with a Redis Cluster client", opts.Prefix)
		}
		if !c.Options().ContextTimeoutEnabled {
			log.Warn("redis client ignores context deadlines; a decision may block for ReadTimeout instead of Timeout")
		}
	case *redis.Client:
		if !c.Options().ContextTimeoutEnabled {
			log.Warn("redis client ignores context deadlines; a decision may block for ReadTimeout instead of Timeout")
		}
	}
	c := &Cluster{
		opts:     opts,
		rdb:      opts.Client,
		log:      log,
		decide:   redis.NewScript(decideLua),
		beat:     redis.NewScript(heartbeatLua),
		nodesKey: opts.Prefix + "nodes",
		margin:   strconv.Itoa(ttlMargin),
	}
	c.nodes.Store(1)
	m := opts.Metrics
	c.fallbacks = m.GetOrCreateCounter("wharf_ratelimit_cluster_fallbacks_total")
	c.recoveries = m.GetOrCreateCounter("wharf_ratelimit_cluster_recoveries_total")
	c.redisErrors = m.GetOrCreateCounter("wharf_ratelimit_cluster_redis_errors_total")
	c.remoteDecisions = m.GetOrCreateCounter(`wharf_ratelimit_cluster_decisions_total{backend="redis"}`)
	c.localDecisions = m.GetOrCreateCounter(`wharf_ratelimit_cluster_decisions_total{backend="local"}`)
	m.GetOrCreateGauge("wharf_ratelimit_cluster_mode", func() float64 {
		if c.Mode() == ModeCluster {
			return 1
		}
		return 0
	})
	m.GetOrCreateGauge("wharf_ratelimit_cluster_nodes", func() float64 { return float64(c.Nodes()) })
	return c, nil
}

func hasHashTag(s string) bool {
	i := strings.IndexByte(s, '{')
	if i < 0 {
		return false
	}
	j := strings.IndexByte(s[i+1:], '}')
	return j > 0
}

func defaultNodeID() (string, error) {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("cannot make a node id: %w", err)
	}
	return host + "/" + strconv.Itoa(os.Getpid()) + "/" + hex.EncodeToString(b[:]), nil
}

// Mode reports where decisions are currently made.
func (c *Cluster) Mode() Mode { return Mode(c.mode.Load()) }

// Nodes returns the live node count last seen in Redis (at least 1).
func (c *Cluster) Nodes() int { return int(c.nodes.Load()) }

// NodeID returns this node's id.
func (c *Cluster) NodeID() string { return c.opts.NodeID }

// Run heartbeats this node and, in fallback mode, probes Redis until ctx
// ends; then it removes the node from the node set and returns nil.
func (c *Cluster) Run(ctx context.Context) error {
	c.heartbeat(ctx)
	lastBeat := time.Now()
	tick := time.NewTicker(c.opts.ProbeEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			c.leave()
			return nil
		case <-tick.C:
		}
		if c.Mode() == ModeFallback {
			c.probe(ctx)
			lastBeat = time.Now()
			continue
		}
		if time.Since(lastBeat) >= c.opts.HeartbeatEvery {
			c.heartbeat(ctx)
			lastBeat = time.Now()
		}
	}
}

// opTimeout bounds heartbeats and the probe's script load: longer than a
// decision, shorter than a heartbeat period.
func (c *Cluster) opTimeout() time.Duration {
	return max(c.opts.Timeout, c.opts.HeartbeatEvery/4)
}

// beatOnce runs the heartbeat script and stores the node count.
func (c *Cluster) beatOnce(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.opTimeout())
	defer cancel()
	n, err := c.beat.Run(ctx, c.rdb, []string{c.nodesKey}, c.opts.NodeID, c.opts.NodeTTL.Milliseconds()).Int64()
	if err != nil {
		return fmt.Errorf("cannot send heartbeat: %w", err)
	}
	c.nodes.Store(max(n, 1))
	return nil
}

func (c *Cluster) heartbeat(ctx context.Context) {
	if err := c.beatOnce(ctx); err != nil && ctx.Err() == nil {
		c.fail(err)
	}
}

// probe checks Redis in fallback mode and returns to cluster mode when a
// PING answers within Timeout and a heartbeat and script load succeed.
func (c *Cluster) probe(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	err := c.rdb.Ping(pctx).Err()
	cancel()
	if err != nil {
		c.log.Debug("redis probe failed", "err", err)
		return
	}
	if err := c.beatOnce(ctx); err != nil {
		c.log.Debug("redis probe failed", "err", err)
		return
	}
	lctx, cancel := context.WithTimeout(ctx, c.opTimeout())
	err = c.decide.Load(lctx, c.rdb).Err()
	cancel()
	if err != nil {
		c.log.Debug("redis probe failed", "err", fmt.Errorf("cannot load decision script: %w", err))
		return
	}
	if c.mode.CompareAndSwap(int32(ModeFallback), int32(ModeCluster)) {
		c.recoveries.Inc()
		since := time.Duration(time.Now().UnixNano() - c.fallbackSince.Load())
		c.log.Info("rate limiting back in cluster mode", "nodes", c.Nodes(), "fallback_for", since.Round(time.Millisecond))
	}
}

// decided records the result of a decision in Redis.
func (c *Cluster) decided(err error) {
	if err == nil {
		if c.failures.Load() != 0 {
			c.failures.Store(0)
		}
		return
	}
	if int(c.failures.Add(1)) >= c.opts.FallbackAfter {
		c.fail(err)
		return
	}
	c.redisErrors.Inc()
}

// fail records a failed Redis operation and switches to fallback mode.
func (c *Cluster) fail(err error) {
	c.redisErrors.Inc()
	if c.mode.CompareAndSwap(int32(ModeCluster), int32(ModeFallback)) {
		c.failures.Store(0)
		c.fallbackSince.Store(time.Now().UnixNano())
		c.fallbacks.Inc()
		c.log.Warn("rate limiting falls back to local limits at rate/nodes", "err", err, "nodes", c.Nodes())
	}
}

func (c *Cluster) leave() {
	ctx, cancel := context.WithTimeout(context.Background(), c.opTimeout())
	defer cancel()
	if err := c.rdb.ZRem(ctx, c.nodesKey, c.opts.NodeID).Err(); err != nil {
		c.log.Debug("cannot leave the node set", "err", err)
	}
}
