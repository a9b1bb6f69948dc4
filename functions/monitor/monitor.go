// Package monitor is the function behind Wharf's metric ingest and series
// queries:
//
//	POST /v1/push                 ingest or admin: Open-Falcon's push format (a JSON array of items)
//	POST /api/v1/metrics/push     the same
//	GET  /api/v1/metrics/query    admin, team: values of one or more series (unknown = null)
//	POST /api/v1/metrics/query    admin, team: the same, series named in a JSON body
//	GET  /api/v1/metrics/series   admin, team: the index of stored series (endpoints, metrics, tag sets)
//
// A team token reads only its team's series (access.go).
//
//	POST /api/v1/strategies       admin, team: create an alarm strategy (strategies.go)
//	GET  /api/v1/strategies       admin, team: list them (team=, metric=, after=, limit=)
//	GET|PUT|DELETE /api/v1/strategies/{id}  admin, team: one of them
//	POST /api/v1/strategies/test  admin, team: replay stored series through a strategy (backtest.go)
//	GET  /api/v1/monitoring/shards admin: which node owns which shard (shards.go)
//
// A push is validated as Falcon's transfer does (monitoring/metric), its
// valid points are sharded by Falcon's consistent hash (monitoring/ring)
// over the members shard-0..shard-N and published in batches (MPUB) on
// the per-shard topics of functions/monitor/wire, for the series writer
// (Writer, which stores them with monitoring/seriesstore) and the judge.
// Nothing is dropped silently: when too many points are queued or nsqd
// does not take them, the pusher gets 503 with Retry-After.
//
// Several nodes share the shards: each Writer with a Store holds an even
// share of them through leases (wire.SeriesLeasePrefix), and a query or
// series listing on any node reads the shards stored there and forwards
// the others to their owners (forward.go) with the caller's
// Authorization and wire.LocalShardsHeader, which makes the owner answer
// from its own stores only.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/metric"
	"github.com/wharfhq/wharf/monitoring/ring"
)

// Publisher publishes batches of messages; *bus.Producer is one.
type Publisher interface {
	MultiPublish(ctx context.Context, topic string, bodies [][]byte) error
}

// Options configure the monitor function.
type Options struct {
	// Publisher gets the points. Required.
	Publisher Publisher
	// Shards is the number of shards (ring members shard-0..Shards-1).
	// Default wire.DefaultShards. Every node must use the same.
	Shards int
	// Replicas is the number of ring points per shard. Default ring.DefaultReplicas (Falcon's 500).
	Replicas int
	// MinStep raises smaller steps to it (seconds). Default metric.DefaultMinStep (30).
	MinStep int64
	// MaxQueued bounds the valid points of pushes in progress (decoded,
	// not yet acknowledged by nsqd); a push beyond it gets 503. Default 1,000,000.
	MaxQueued int64
	// PublishTimeout bounds the publishing of one push. Default 5s.
	PublishTimeout time.Duration
	// BatchFormat is the layout of the batches published (the consumers
	// read both). Default metric.BatchBinary.
	BatchFormat metric.BatchFormat
	// RetryAfter is the Retry-After of a 503. Default 5s.
	RetryAfter time.Duration
	// Backlog, if set, refuses pushes with 503 while the consumers are
	// too far behind (backlog.go); the caller runs it.
	Backlog *Backlog
	// Series answers queries of the shards it stores; the others are
	// forwarded to their owners found in Store (wire.SeriesLeasePrefix)
	// when Series shares the shards through leases or is nil (a node that
	// stores no series: every query is forwarded).
	Series *Writer
	// Client forwards queries to the shards' owners. Default: a client of its own.
	Client *http.Client
	// ForwardTimeout bounds one forwarded query. Default 10s.
	ForwardTimeout time.Duration
	// MaxQueryValues bounds the values (series × points) of one query's
	// answer; a larger one is a 400. Default DefaultMaxQueryValues.
	MaxQueryValues int
	// Store keeps the alarm strategies (wire.StrategyKey); nil: no
	// strategy routes.
	Store store.Store
	// StoreTimeout bounds each store call of a request. Default 5s.
	StoreTimeout time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger; nil discards.
	Logger *slog.Logger
	// Metrics gets the wharf_monitor_* families; nil: a private set.
	Metrics *metrics.Set
}

// Function is the monitor function.
type Function struct {
	opts   Options
	ring   *ring.Ring
	rules  metric.Rules
	log    *slog.Logger
	queued atomic.Int64
	stats  *counters
	retry  string
	bufs   sync.Pool // *pushBuffers
	pubs   []*shardPublisher
}

// New checks opts and returns the function.
func New(opts Options) (*Function, error) {
	if opts.Publisher == nil {
		return nil, errors.New("cannot create monitor function: Publisher is required")
	}
	if opts.Shards == 0 {
		opts.Shards = wire.DefaultShards
	}
	if opts.Shards < 1 || opts.Shards > wire.MaxShards {
		return nil, fmt.Errorf("cannot create monitor function: shards must be 1..%d, got %d", wire.MaxShards, opts.Shards)
	}
	if opts.Replicas == 0 {
		opts.Replicas = ring.DefaultReplicas
	}
	if opts.MinStep == 0 {
		opts.MinStep = metric.DefaultMinStep
	}
	if opts.MinStep < 1 {
		return nil, fmt.Errorf("cannot create monitor function: min step must be at least 1s, got %d", opts.MinStep)
	}
	if opts.MaxQueued <= 0 {
		opts.MaxQueued = 1_000_000
	}
	if opts.PublishTimeout <= 0 {
		opts.PublishTimeout = 5 * time.Second
	}
	if opts.StoreTimeout <= 0 {
		opts.StoreTimeout = 5 * time.Second
	}
	if opts.Client == nil {
		opts.Client = &http.Client{}
	}
	if opts.MaxQueryValues <= 0 {
		opts.MaxQueryValues = DefaultMaxQueryValues
	}
	if opts.ForwardTimeout <= 0 {
		opts.ForwardTimeout = 10 * time.Second
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.NewSet()
	}
	r, err := ring.New(opts.Replicas, wire.ShardMembers(opts.Shards))
	if err != nil {
		return nil, fmt.Errorf("cannot create monitor function: %w", err)
	}
	f := &Function{opts: opts, ring: r, rules: metric.Rules{MinStep: opts.MinStep}, log: opts.Logger,
		retry: fmt.Sprint(max(1, int(opts.RetryAfter.Seconds())))}
	for i := range opts.Shards {
		f.pubs = append(f.pubs, newShardPublisher(f, i))
	}
	f.stats = newCounters(opts.Metrics, func() float64 { return float64(f.queued.Load()) })
	return f, nil
}

// Shard returns the shard of a series key (Falcon's PK).
func (f *Function) Shard(pk string) int { return f.ring.Index(pk) }

// Name implements fnapi.Function.
func (f *Function) Name() string { return "monitor" }

// Routes implements fnapi.Function.
func (f *Function) Routes() []fnapi.Route {
	push := fnapi.Access{Scopes: func(fnapi.Params) []string { return []string{auth.ScopeIngest} }}
	routes := []fnapi.Route{
		// A push keeps nothing of its body: decoded strings are copies,
		// messages are encoded into the push's own buffers.
		{Method: fasthttp.MethodPost, Pattern: "/v1/push", Access: push, Handler: f.push, BodyNotKept: true},
		{Method: fasthttp.MethodPost, Pattern: "/api/v1/metrics/push", Access: push, Handler: f.push, BodyNotKept: true},
		// Admin reads every series, a team token its team's (access.go).
		{Method: fasthttp.MethodGet, Pattern: "/api/v1/metrics/query", Access: fnapi.AnyToken(), Handler: readers(f.queryGet)},
		{Method: fasthttp.MethodPost, Pattern: "/api/v1/metrics/query", Access: fnapi.AnyToken(), Handler: readers(f.queryPost)},
		{Method: fasthttp.MethodGet, Pattern: "/api/v1/metrics/series", Access: fnapi.AnyToken(), Handler: readers(f.series)},
	}
	if f.opts.Store != nil {
		routes = append(routes, f.strategyRoutes()...)
		routes = append(routes, f.problemRoute())
		routes = append(routes, f.shardRoutes()...)
	}
	return routes
}
