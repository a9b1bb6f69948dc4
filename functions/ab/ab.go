// Package ab is the A/B function: team-owned layers and experiments
// (functions/ab/experiment is the model), decisions from an in-memory
// snapshot that follows the store, exposures counted in memory and
// flushed, a GrowthBook SDK payload, metric events through NSQ to an
// aggregator of per-unit totals, and per-variation results with the
// statistics of functions/ab/stats.
//
//	POST /fn/ab/layers                          admin, team: create a layer (layers.go)
//	GET  /fn/ab/layers                          admin, team: the layers the caller sees
//	GET  /fn/ab/layers/{team}/{name}            admin, team: one layer
//	DELETE /fn/ab/layers/{team}/{name}          admin, team: delete a layer no experiment names
//	POST /fn/ab/experiments                     admin, team: create an experiment, draft (experiments.go)
//	GET  /fn/ab/experiments                     admin, team: the experiments the caller sees
//	GET  /fn/ab/experiments/{team}/{key}        admin, team: one experiment with its exposures and live SRM
//	DELETE /fn/ab/experiments/{team}/{key}      admin, team: delete a draft or stopped experiment
//	PATCH|PUT /fn/ab/experiments/{team}/{key}   admin, team: edit the definition in place (edit.go)
//	POST /fn/ab/experiments/{team}/{key}/start  admin, team: draft|stopped → running
//	POST /fn/ab/experiments/{team}/{key}/stop   admin, team: running → stopped
//	POST /fn/ab/experiments/{team}/{key}/ramp   admin, team: coverage and weights (ramp.go)
//	POST /fn/ab/experiments/{team}/{key}/reassign admin, team: a new bucket version
//	POST /fn/ab/decide                          admin, team: every running experiment's assignment (decide.go)
//	GET  /fn/ab/decide/{experiment}             admin, team: one experiment's assignment
//	POST /fn/ab/sdk-keys                        admin, team: a client key for the GrowthBook endpoint (features.go)
//	GET  /fn/ab/sdk-keys                        admin, team: the client keys of the caller's teams
//	DELETE /fn/ab/sdk-keys/{clientKey}          admin, team: revoke a client key
//	GET  /api/features/{clientKey}              public: GrowthBook SDK payload of the key's team
//	POST /fn/ab/track                           admin, team: metric events to the aggregator (track.go)
//	POST /fn/ab/exposures                       admin, team: exposures of units an SDK decided (report.go)
//	GET  /fn/ab/results/{team}/{key}            admin, team: per-variation statistics (results.go)
package ab

import (
	"context"
	"errors"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/ab/experiment"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/mirror"
)

// Publisher publishes one message; *bus.Producer is one.
type Publisher interface {
	Publish(ctx context.Context, topic string, body []byte) error
}

// Options configure the A/B function.
type Options struct {
	// Store holds layers, experiments, exposures and totals. Required.
	Store store.Store
	// Publisher carries tracked events to the aggregator. Required.
	Publisher Publisher
	// FlushInterval is how often exposure counts are added to the store.
	// Default 1s.
	FlushInterval time.Duration
	// StoreTimeout bounds each store call; PublishTimeout each publish.
	// Default 5s each.
	StoreTimeout, PublishTimeout time.Duration
	// ExposureSlots is the size of the set of units this node has
	// recorded as exposed, per experiment: a power of two, default
	// DefaultExposureSlots (exposed.go).
	ExposureSlots int
	// MaxNewExposures caps the new unit exposures this node records per
	// FlushInterval for each experiment; default DefaultMaxNewExposures.
	MaxNewExposures int
	// MaxReportedExposures caps the exposures reported on POST
	// /fn/ab/exposures that this node takes per FlushInterval for each
	// experiment (429 beyond); default DefaultMaxReportedExposures.
	MaxReportedExposures int
	// MaxStoredUnits caps the unit records stored for one bucket version
	// of an experiment (results say truncated beyond); default
	// DefaultMaxStoredUnits.
	MaxStoredUnits int
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Metrics, if set, gets the wharf_ab_* metrics.
	Metrics *metrics.Set
	// Logger; nil discards.
	Logger *slog.Logger
}

// Function is the A/B function.
type Function struct {
	opts Options
	log  *slog.Logger
	// state is the current snapshot with its exposure counters.
	state atomic.Pointer[state]
	// mu guards counters (by team/key/bucket version) across snapshots.
	mu       sync.Mutex
	counters map[string]*counter
	ready    chan struct{}
	readyOne sync.Once
	m        *fnMetrics
	// seed hashes units for the exposure log; nodeID and batchSeq name its
	// batches.
	seed     maphash.Seed
	nodeID   string
	batchSeq atomic.Uint64
	// lastFlushWarn (Unix ns) and suppressedWarns rate-limit the warnings
	// of failed flushes (flushwarn.go).
	lastFlushWarn   atomic.Int64
	suppressedWarns atomic.Int64
}

// state is one snapshot and the exposure counter of each of its running
// experiments (same index as Snapshot.All).
type state struct {
	snap     *experiment.Snapshot
	counters []*counter
	sdkKeys  map[string]string // client key → team
}

// New checks opts and returns the function; Run follows the store.
func New(opts Options) (*Function, error) {
	if opts.Store == nil {
		return nil, errors.New("cannot create the ab function: Store is required")
	}
	if opts.Publisher == nil {
		return nil, errors.New("cannot create the ab function: Publisher is required")
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = time.Second
	}
	if opts.StoreTimeout <= 0 {
		opts.StoreTimeout = 5 * time.Second
	}
	if opts.PublishTimeout <= 0 {
		opts.PublishTimeout = 5 * time.Second
	}
	if opts.ExposureSlots <= 0 {
		opts.ExposureSlots = DefaultExposureSlots
	}
	if opts.ExposureSlots&(opts.ExposureSlots-1) != 0 {
		return nil, errors.New("cannot create the ab function: ExposureSlots must be a power of two")
	}
	if opts.MaxNewExposures <= 0 {
		opts.MaxNewExposures = DefaultMaxNewExposures
	}
	if opts.MaxReportedExposures <= 0 {
		opts.MaxReportedExposures = DefaultMaxReportedExposures
	}
	if opts.MaxStoredUnits <= 0 {
		opts.MaxStoredUnits = DefaultMaxStoredUnits
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	f := &Function{opts: opts, log: opts.Logger, counters: map[string]*counter{}, ready: make(chan struct{}), m: newMetrics(opts.Metrics), seed: maphash.MakeSeed()}
	f.nodeID = newNodeID(f.seed)
	f.state.Store(&state{snap: experiment.NewSnapshot(nil, nil), sdkKeys: map[string]string{}})
	return f, nil
}

// Name implements fnapi.Function.
func (f *Function) Name() string { return "ab" }

// Ready is closed once the first snapshot of the store is in effect.
func (f *Function) Ready() <-chan struct{} { return f.ready }

// Routes implements fnapi.Function. The scopes are checked in the
// handlers (access.go): a team token's rights depend on the team of what
// it touches.
func (f *Function) Routes() []fnapi.Route {
	any := fnapi.AnyToken()
	post, get := fasthttp.MethodPost, fasthttp.MethodGet
	return []fnapi.Route{
		{Method: post, Pattern: "/fn/ab/layers", Access: any, Handler: teams(f.createLayer)},
		{Method: get, Pattern: "/fn/ab/layers", Access: any, Handler: teams(f.listLayers)},
		{Method: get, Pattern: "/fn/ab/layers/{team}/{name}", Access: any, Handler: teams(f.getLayer)},
		{Method: fasthttp.MethodDelete, Pattern: "/fn/ab/layers/{team}/{name}", Access: any, Handler: teams(f.deleteLayer)},
		{Method: post, Pattern: "/fn/ab/experiments", Access: any, Handler: teams(f.createExperiment)},
		{Method: get, Pattern: "/fn/ab/experiments", Access: any, Handler: teams(f.listExperiments)},
		{Method: get, Pattern: "/fn/ab/experiments/{team}/{key}", Access: any, Handler: teams(f.getExperiment)},
		{Method: fasthttp.MethodDelete, Pattern: "/fn/ab/experiments/{team}/{key}", Access: any, Handler: teams(f.deleteExperiment)},
		{Method: fasthttp.MethodPatch, Pattern: "/fn/ab/experiments/{team}/{key}", Access: any, Handler: teams(f.patchExperiment)},
		{Method: fasthttp.MethodPut, Pattern: "/fn/ab/experiments/{team}/{key}", Access: any, Handler: teams(f.putExperiment)},
		{Method: post, Pattern: "/fn/ab/experiments/{team}/{key}/start", Access: any, Handler: teams(f.startExperiment)},
		{Method: post, Pattern: "/fn/ab/experiments/{team}/{key}/stop", Access: any, Handler: teams(f.stopExperiment)},
		{Method: post, Pattern: "/fn/ab/experiments/{team}/{key}/ramp", Access: any, Handler: teams(f.rampExperiment)},
		{Method: post, Pattern: "/fn/ab/experiments/{team}/{key}/reassign", Access: any, Handler: teams(f.reassignExperiment)},
		{Method: post, Pattern: "/fn/ab/decide", Access: any, Handler: teams(f.decideAll)},
		{Method: get, Pattern: "/fn/ab/decide/{experiment}", Access: any, Handler: teams(f.decideOne)},
		{Method: post, Pattern: "/fn/ab/sdk-keys", Access: any, Handler: teams(f.createSDKKey)},
		{Method: get, Pattern: "/fn/ab/sdk-keys", Access: any, Handler: teams(f.listSDKKeys)},
		{Method: fasthttp.MethodDelete, Pattern: "/fn/ab/sdk-keys/{clientKey}", Access: any, Handler: teams(f.revokeSDKKey)},
		{Method: get, Pattern: "/api/features/{clientKey}", Access: fnapi.Public(), Handler: f.features},
		{Method: post, Pattern: "/fn/ab/track", Access: any, Handler: teams(f.track)},
		{Method: post, Pattern: "/fn/ab/exposures", Access: any, Handler: teams(f.reportExposures)},
		{Method: get, Pattern: "/fn/ab/results/{team}/{key}", Access: any, Handler: teams(f.results)},
	}
}

// Run follows the definitions in the store (a change is in effect within
// the watch's delay) and flushes exposures every FlushInterval until ctx
// ends; the last flush runs on the way out.
func (f *Function) Run(ctx context.Context) error {
	m, err := mirror.New(f.opts.Store, mirror.Options{Prefix: defPrefix, OnChange: f.apply, Logger: f.log, OpTimeout: f.opts.StoreTimeout})
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t := time.NewTicker(f.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.opts.StoreTimeout)
			f.Flush(fctx)
			cancel()
			return <-done
		case <-t.C:
			f.Flush(ctx)
		}
	}
}

// storeCtx is the context of one store call of r.
func (f *Function) storeCtx(r *fnapi.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), f.opts.StoreTimeout)
}
