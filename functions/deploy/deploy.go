// Package deploy is the function behind Wharf's deploy API and the
// orchestration of deploys: it turns a deploy request into a plan.Record,
// sends the record's tasks to the agents over NSQ, applies the agents'
// events and steps the record until it is done. The logic of a deploy lives
// in functions/deploy/plan (pure); the contract with the agents in
// functions/deploy/wire. This package is the I/O around them.
//
//	PUT  /api/v1/agents/hosts/{id}                 agent: heartbeat (wire.Host), kept for Options.HostTTL
//	GET  /api/v1/agents/task-keys                  agent: the public keys tasks are signed with (wire.TaskKeys)
//	DELETE /api/v1/agents/hosts/{id}/binding       admin: release the host from its agent token
//	GET  /api/v1/agents/hosts                      admin: the live hosts
//	POST /api/v1/apps/{app}/deploys                start a deploy (body plan.Spec; 201 with the record)
//	GET  /api/v1/apps/{app}/deploys                history, newest first (?limit=, at most MaxHistory)
//	GET  /api/v1/apps/{app}/deploys/{id}           the record and its summary
//	POST /api/v1/apps/{app}/deploys/{id}/pause     pause | resume | abort (409 in the wrong state)
//	POST /api/v1/apps/{app}/deploys/{id}/resume
//	POST /api/v1/apps/{app}/deploys/{id}/abort     body {"why"} optional
//	POST /api/v1/apps/{app}/rollback               body {"to", "why"} optional: a rollback deploy
//	POST /api/v1/agents/hosts/{id}/logs            agent: a batch of its app instances' output (wire.LogBatch)
//	GET  /api/v1/apps/{app}/logs                   admin, team: the app's log lines (?host=&instance=&process=&since=&after=&limit=)
//
// # Access
//
// Apps belong to teams (functions/artifacts records the owner when the
// first version is pushed). admin and team:<owner> may deploy, control and
// roll back the app; agent tokens may also read its deploys. An app that was
// never pushed and another team's app are the same 404 (internal/tenancy).
//
// A host id belongs to the agent token that sent its first heartbeat
// (tenancy.Hosts); heartbeats for it with another agent token are a 403,
// and with another advertised address or event-signing key a 409, until
// an admin releases it. Every deploy records the hosts it targets as
// placements of the app, which is what lets their agents register the
// app's instances in the gateway's registry.
//
// # Store keys
//
//	deploy/hosts/<host>          wire.Host, TTL Options.HostTTL (a missing key is a host that is down)
//	deploy/records/<app>/<id>    plan.Record, written with compare-and-swap only
//	deploy/active/<app>          {"id","at"}: the one deploy of the app being driven (CAS-created)
//	deploy/lease/<id>            {"owner","at"}, TTL Options.LeaseTTL: the instance driving the deploy
//	deploy/last-good/<app>       the app's good releases, newest first (rollback targets)
//	deploy/index/<app>           the app's deploy ids, newest first, at most MaxHistory
//	deploys/live/<app>           catalog.LiveKey: versions in use, which artifact GC keeps
//	deploy/logs/<app>            logring.Ring, TTL logring.TTL: the app instances' latest output lines
//	deploy/task-key              the Ed25519 key pair tasks are signed with (CAS-created once; see TaskKeyKey)
//
// It also reads two keys of functions/artifacts, which exports no reader
// for them: artifacts/owners/<app> (the owning team) and
// artifacts/apps/<app>/versions/<version> (catalog.Meta, for the sha256).
// Keep artifactOwnerKey and artifactMetaKey in step with that package.
//
// # Orchestration
//
// Instances are stateless and any number may run. Run drives every active
// deploy every Tick, and at once when the store shows that a record or an
// active key changed (an event applied, an operator's pause, a new deploy):
// it takes the deploy's lease (create-if-absent with a TTL, renewed while
// driving; another instance takes over when it lapses, or at once when the
// holder stops cleanly and deletes it), loads the record, calls Step with
// the hosts' heartbeats (and the gate measurement), writes the record with
// compare-and-swap and only then publishes the tasks to deploy.host.<host>,
// each one signed (wire.SignedTask: a new nonce, issued now, valid for
// wire.TaskTTL) with the key pair at TaskKeyKey, which the first instance
// that needs it creates with compare-and-set.
// A task lost after the write is sent again by Step after plan.ResendAfter.
// When the record is done it updates the good releases (on success) and
// the live versions, then deletes the active key and the lease.
//
// Events from deploy.events (channel deploy) are verified first: each
// must be a wire.SignedEvent signed by the Ed25519 key bound to its host
// (announced in the agent's heartbeat, recorded and fixed by the host's
// binding); see authenticate for the rule, including hosts bound without
// a key. The others are refused and counted in
// wharf_deploy_events_refused_total{reason}. Verified events are applied
// by whichever instance receives them (plan.Apply is idempotent and
// order-tolerant, so a replayed event changes nothing),
// written with compare-and-swap (retried on conflict); the write wakes the
// lease holder, which steps the deploy.
//
// # Rollbacks
//
// POST .../rollback moves every live host of the app (those whose heartbeat
// lists it, plus the targets the running deploy already moved) to the named
// version, or to the last good release (one further back when the latest
// deploy succeeded). A deploy that is running is aborted first, without its
// own auto-rollback, so that one deploy alone moves the hosts; its timeline
// says so. A deploy that is already rolling back is a 409: wait for it.
// When a rollback succeeds, its version becomes the newest good release and
// the release it rolled back from is no longer one.
package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/deploy/plan"
	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// Defaults and bounds.
const (
	// DefaultTick is how often Run steps every active deploy.
	DefaultTick = time.Second
	// DefaultLeaseTTL is how long a deploy's lease lasts unless renewed;
	// the holder renews it every third of that.
	DefaultLeaseTTL = 10 * time.Second
	// DefaultStoreTimeout bounds every store call.
	DefaultStoreTimeout = 5 * time.Second
	// DefaultPublishTimeout bounds every publish of a task.
	DefaultPublishTimeout = 5 * time.Second
	// MaxHistory is how many deploys of an app are kept; older records
	// are deleted when a new deploy is created.
	MaxHistory = 100
	// DefaultHistoryLimit is the length of the history without ?limit.
	DefaultHistoryLimit = 20
	// maxGood is how many good releases of an app are remembered.
	maxGood = 10
	// maxCASRetries bounds the read-modify-write loops on one key.
	maxCASRetries = 20
	// danglingAfter is how old an active key without a record must be
	// before the driver deletes it (a create writes the key, then the
	// record).
	danglingAfter = time.Minute
)

// Store key prefixes (see the package comment).
const (
	hostsPrefix   = "deploy/hosts/"
	recordsPrefix = "deploy/records/"
	activePrefix  = "deploy/active/"
	leasePrefix   = "deploy/lease/"
	goodPrefix    = "deploy/last-good/"
	indexPrefix   = "deploy/index/"
	watchPrefix   = "deploy/"
)

// HostKey is the store key of a host's last heartbeat.
func HostKey(id string) string { return hostsPrefix + id }

// RecordKey is the store key of a deploy's record.
func RecordKey(app, id string) string { return recordsPrefix + app + "/" + id }

// ActiveKey is the store key naming the app's deploy being driven.
func ActiveKey(app string) string { return activePrefix + app }

// LeaseKey is the store key of the lease on driving a deploy.
func LeaseKey(id string) string { return leasePrefix + id }

// LastGoodKey is the store key of the app's good releases.
func LastGoodKey(app string) string { return goodPrefix + app }

func indexKey(app string) string { return indexPrefix + app }

// artifactOwnerKey is the store key of app's owning team.
func artifactOwnerKey(app string) string { return tenancy.OwnerKey(app) }

// GateSource measures the gateway's traffic to a new version for the
// error-rate gate of a deploy's steps (plan.Spec.Health.ErrorRateMax).
type GateSource interface {
	// Sample returns the requests to version of app between w.From and
	// w.To and the fraction of them that failed; ok is false when there is
	// no measurement (yet). The deploy fails its gate when none comes
	// within plan.GateGrace after the window.
	Sample(ctx context.Context, app, version string, w plan.Window) (s plan.GateSample, ok bool, err error)
}

// Options configures the function.
type Options struct {
	// Store holds hosts, records and leases; instances that share it
	// share the deploys. Required.
	Store store.Store
	// Outbox, if set, publishes tasks durably; else Producer publishes
	// them directly (a task lost then is resent after plan.ResendAfter).
	// One of them is required.
	Outbox   *bus.Outbox
	Producer *bus.Producer
	// NSQDAddrs or LookupdHTTPAddrs are where Run consumes the agents'
	// events (wire.TopicEvents, channel wire.ChannelDeploy); with neither,
	// Run only drives (events can still be fed to HandleEvent).
	NSQDAddrs, LookupdHTTPAddrs []string
	// BusSecurity is the TLS and AUTH of the events consumer; nil: plain.
	BusSecurity *bus.Security
	// Gate measures error rates for health gates; nil refuses deploys
	// with an error-rate gate.
	Gate GateSource
	// Logger gets the function's log lines; nil discards them.
	Logger *slog.Logger
	// Metrics gets wharf_deploy_* counters; nil keeps them private.
	Metrics *metrics.Set
	// Now is the clock of records and heartbeats (default time.Now).
	// Leases always use the real clock: the store times them out.
	Now func() time.Time
	// Tick is how often Run steps every active deploy (default DefaultTick).
	Tick time.Duration
	// LeaseTTL is the lifetime of a deploy's lease (default DefaultLeaseTTL).
	LeaseTTL time.Duration
	// HostTTL is how long a heartbeat keeps a host alive (default
	// wire.HostTTL); a target whose host expired is lost.
	HostTTL time.Duration
	// StoreTimeout bounds every store call (default DefaultStoreTimeout).
	StoreTimeout time.Duration
	// PublishTimeout bounds every publish (default DefaultPublishTimeout).
	PublishTimeout time.Duration
	// Instance names this instance in leases and logs (default random).
	Instance string
}

// Function serves the deploy API and drives deploys.
type Function struct {
	opts  Options
	st    store.Store
	hosts *tenancy.Hosts
	log   *slog.Logger
	m     *counters
	// kick wakes the driver; poke fills it.
	kick    chan struct{}
	running atomic.Bool

	mu     sync.Mutex
	leases map[string]heldLease // deploy id → lease this instance holds

	keyMu sync.Mutex
	key   taskKey // the task-signing key, once read (see signingKey)
}

// New checks opts and returns the function; Run starts driving.
func New(opts Options) (*Function, error) {
	if opts.Store == nil {
		return nil, errors.New("cannot create the deploy function: Store is required")
	}
	if opts.Outbox == nil && opts.Producer == nil {
		return nil, errors.New("cannot create the deploy function: Outbox or Producer is required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Tick <= 0 {
		opts.Tick = DefaultTick
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = DefaultLeaseTTL
	}
	if opts.HostTTL <= 0 {
		opts.HostTTL = wire.HostTTL
	}
	if opts.StoreTimeout <= 0 {
		opts.StoreTimeout = DefaultStoreTimeout
	}
	if opts.PublishTimeout <= 0 {
		opts.PublishTimeout = DefaultPublishTimeout
	}
	if opts.Instance == "" {
		opts.Instance = "deploy-" + randomHex(4)
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.NewSet()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Function{
		opts:   opts,
		st:     opts.Store,
		hosts:  tenancy.New(opts.Store, tenancy.Options{OpTimeout: opts.StoreTimeout, Now: opts.Now}),
		log:    log.With("component", "deploy", "instance", opts.Instance),
		m:      newCounters(opts.Metrics),
		kick:   make(chan struct{}, 1),
		leases: make(map[string]heldLease),
	}, nil
}

// Name implements fnapi.Function.
func (f *Function) Name() string { return "deploy" }

// Routes implements fnapi.Function. App routes check the app's owner in
// the handlers: it lives in the store.
func (f *Function) Routes() []fnapi.Route {
	const app = "/api/v1/apps/{app}"
	agent := fnapi.Access{Scopes: func(fnapi.Params) []string { return []string{auth.ScopeAgent} }}
	return []fnapi.Route{
		{Method: fasthttp.MethodPut, Pattern: wire.HostPath + "{id}", Access: agent, Handler: f.putHost},
		{Method: fasthttp.MethodDelete, Pattern: wire.HostPath + "{id}/binding", Access: fnapi.AdminOnly(), Handler: f.releaseHost},
		{Method: fasthttp.MethodGet, Pattern: strings.TrimSuffix(wire.HostPath, "/"), Access: fnapi.AdminOnly(), Handler: f.listHosts},
		{Method: fasthttp.MethodGet, Pattern: wire.TaskKeysPath, Access: agent, Handler: f.taskKeys},
		{Method: fasthttp.MethodPost, Pattern: app + "/deploys", Access: fnapi.AnyToken(), Handler: f.create},
		{Method: fasthttp.MethodGet, Pattern: app + "/deploys", Access: fnapi.AnyToken(), Handler: f.history},
		{Method: fasthttp.MethodGet, Pattern: app + "/deploys/{id}", Access: fnapi.AnyToken(), Handler: f.show},
		{Method: fasthttp.MethodPost, Pattern: app + "/deploys/{id}/pause", Access: fnapi.AnyToken(), Handler: f.control(ActionPause)},
		{Method: fasthttp.MethodPost, Pattern: app + "/deploys/{id}/resume", Access: fnapi.AnyToken(), Handler: f.control(ActionResume)},
		{Method: fasthttp.MethodPost, Pattern: app + "/deploys/{id}/abort", Access: fnapi.AnyToken(), Handler: f.control(ActionAbort)},
		{Method: fasthttp.MethodPost, Pattern: app + "/rollback", Access: fnapi.AnyToken(), Handler: f.rollback},
		{Method: fasthttp.MethodPost, Pattern: wire.HostPath + "{id}" + wire.LogShipPath, Access: agent, Handler: f.shipLogs},
		{Method: fasthttp.MethodGet, Pattern: app + "/logs", Access: fnapi.AnyToken(), Handler: f.readLogs},
	}
}

// poke wakes the driver of this instance.
func (f *Function) poke() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// storeCtx is a context for one store call.
func (f *Function) storeCtx(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, f.opts.StoreTimeout)
}

// newID returns a deploy id: the app, the UTC time to the millisecond and
// a random suffix, e.g. shop.20260301T120000.123Z.9f3a1c2b. Ids of an app
// sort by creation time; the app before the first dot lets an event,
// which carries only the id, find its record.
func newID(app string, now time.Time) string {
	return app + "." + now.UTC().Format("20060102T150405.000Z") + "." + randomHex(4)
}

// appOf returns the app of a deploy id made by newID.
func appOf(id string) (string, bool) {
	app, rest, ok := strings.Cut(id, ".")
	if !ok || rest == "" || len(id) > 128 || !validApp(app) {
		return "", false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return "", false
		}
	}
	return app, true
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b)
}
