// Package config is Wharf's config function: teams keep their apps'
// configuration in namespaces, edit a draft, publish releases, roll back,
// try a change on a gray branch; clients read it with Apollo's protocol,
// so Apollo's clients (Java, agollo, .NET, Python) work unmodified.
//
// Admin and team API (admin, or the team that owns the app; reads also an
// agent token of a host the app is placed on):
//
//	GET    /api/v1/config/apps/{app}/namespaces                       namespaces of every cluster
//	POST   /api/v1/config/apps/{app}/namespaces                       create one (format, public, override)
//	GET    /api/v1/config/apps/{app}/clusters/{cluster}/namespaces/{ns}            namespace, draft, gray
//	PUT    /api/v1/config/apps/{app}/clusters/{cluster}/namespaces/{ns}/draft      replace the draft
//	PUT    /api/v1/config/apps/{app}/clusters/{cluster}/namespaces/{ns}/items/{key} set an item
//	DELETE /api/v1/config/apps/{app}/clusters/{cluster}/namespaces/{ns}/items/{key} delete an item
//	POST   /api/v1/config/apps/{app}/clusters/{cluster}/namespaces/{ns}/releases   publish the draft
//	GET    /api/v1/config/apps/{app}/clusters/{cluster}/namespaces/{ns}/releases   history
//	GET    /api/v1/config/apps/{app}/clusters/{cluster}/namespaces/{ns}/releases/{id}
//	GET    /api/v1/config/apps/{app}/clusters/{cluster}/namespaces/{ns}/diff?from=&to=
//	POST   /api/v1/config/apps/{app}/clusters/{cluster}/namespaces/{ns}/rollback
//	PUT|DELETE /api/v1/config/apps/{app}/clusters/{cluster}/namespaces/{ns}/gray  create, abandon
//	PUT    .../gray/rules, PUT|DELETE .../gray/items/{key}, POST .../gray/releases, POST .../gray/promote
//	GET    /api/v1/config/apps/{app}/audit                            who changed what, when
//	GET|POST /api/v1/config/apps/{app}/accesskeys, PUT|DELETE /api/v1/config/apps/{app}/accesskeys/{id}
//
// Apollo client protocol (an app access key, Apollo's signature, or a token
// that may read the app):
//
//	GET /configs/{appId}/{cluster}/{namespace}            (apollo.go)
//	GET /configfiles/{appId}/{cluster}/{namespace}, /configfiles/json/..., /configfiles/raw/...
//	GET /notifications/v2                                  held until a change (notify.go)
//	GET /services/config                                   public: the nodes to use
package config

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// Options configure the config function.
type Options struct {
	// Store holds namespaces, drafts, releases and keys. Required.
	Store store.Store
	// Tokens authenticate the bearer tokens of client reads. Required.
	Tokens fnapi.Authenticator
	// Reservations, when set, keep a config write from claiming an app
	// whose name an admin reserved for another team.
	Reservations tenancy.Reservations
	// PollTimeout is how long /notifications/v2 holds a poll without a
	// change before it answers 304. Default 60s (Apollo's).
	PollTimeout time.Duration
	// ClockWindow is how far an access-key signature's Timestamp may be
	// from the node's clock. Default 60s (Apollo's).
	ClockWindow time.Duration
	// StoreTimeout bounds each store call. Default 5s.
	StoreTimeout time.Duration
	// StaleCredentials is how long after its last successful check a
	// bearer token keeps reading an app's config on this node while the
	// store cannot be reached (stale.go). Default 5 minutes; at most an
	// hour (a longer one is cut to an hour).
	StaleCredentials time.Duration
	// OutageEntries bounds the store reads, and the token checks, each
	// node keeps for a store outage (stale.go). Default 20,000.
	OutageEntries int
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger; nil discards.
	Logger *slog.Logger
	// Metrics receives the function's metrics (MetricFamilies); nil: none.
	Metrics *metrics.Set
}

// Function is the config function.
type Function struct {
	opts  Options
	st    store.Store
	hosts *tenancy.Hosts
	hub   *hub
	log   *slog.Logger
	rels  *releaseCache
	known *lastKnown
	creds *staleCreds
	// staleCtx is the client reads' context (clientCtx).
	staleCtx atomic.Pointer[staleCtxOf]
	m        *counters
	ready    chan struct{}
}

// lastKnownEntries bounds the store reads, and the credential checks,
// kept for an outage.
const lastKnownEntries = 20000

// New checks opts and returns the function; Run follows the store so that
// held polls are answered.
func New(opts Options) (*Function, error) {
	if opts.Store == nil {
		return nil, errors.New("cannot create config function: Store is required")
	}
	if opts.Tokens == nil {
		return nil, errors.New("cannot create config function: Tokens is required")
	}
	if opts.PollTimeout <= 0 {
		opts.PollTimeout = 60 * time.Second
	}
	if opts.ClockWindow <= 0 {
		opts.ClockWindow = 60 * time.Second
	}
	if opts.StoreTimeout <= 0 {
		opts.StoreTimeout = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.StaleCredentials <= 0 {
		opts.StaleCredentials = 5 * time.Minute
	}
	opts.StaleCredentials = min(opts.StaleCredentials, time.Hour)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.OutageEntries <= 0 {
		opts.OutageEntries = lastKnownEntries
	}
	f := &Function{opts: opts, st: opts.Store, log: opts.Logger,
		hosts: tenancy.New(opts.Store, tenancy.Options{OpTimeout: opts.StoreTimeout}), rels: newReleaseCache(4096),
		known: newLastKnown(opts.OutageEntries, opts.Now), creds: newStaleCreds(opts.OutageEntries, opts.StaleCredentials, opts.Now)}
	f.hub = newHub(opts.Store, opts.StoreTimeout, opts.Logger)
	f.m = newCounters(opts.Metrics, f.hub)
	f.ready = make(chan struct{})
	if rh, ok := opts.Tokens.(revokeHook); ok {
		rh.OnRevoke(f.creds.forget)
	}
	return f, nil
}

// revokeHook is a token service that tells of the tokens it revokes
// (auth.Service, auth.Cache).
type revokeHook interface{ OnRevoke(func(id string)) }

// Run follows the namespaces' heads in the store (every node sees every
// publish) until ctx ends; held polls are answered from it. It also
// follows the token records and the access keys, so that what is kept for
// an outage (stale.go) forgets revoked tokens and disabled keys.
func (f *Function) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	toks, keys := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); f.tokenFollower().run(ctx, toks) }()
	go func() { defer wg.Done(); f.keyFollower().run(ctx, keys) }()
	go func() {
		defer wg.Done()
		for _, ch := range []<-chan struct{}{f.hub.ready, toks, keys} {
			select {
			case <-ch:
			case <-ctx.Done():
				return
			}
		}
		close(f.ready)
	}()
	err := f.hub.run(ctx)
	cancel()
	wg.Wait()
	return err
}

// Ready is closed once Run has read the heads and opened its watches:
// polls answer correctly and the outage caches follow the store.
func (f *Function) Ready() <-chan struct{} { return f.ready }

// Name implements fnapi.Function.
func (f *Function) Name() string { return "config" }

const (
	appPath = "/api/v1/config/apps/{app}"
	nsPath  = appPath + "/clusters/{cluster}/namespaces/{ns}"
)

// Routes implements fnapi.Function. Team routes take any token and check
// the app's team in the handler (access.go); client routes authenticate
// in the handler too, since Apollo clients sign instead of sending a
// bearer token.
func (f *Function) Routes() []fnapi.Route {
	tok, pub := fnapi.AnyToken(), fnapi.Public()
	get, put, post, del := fasthttp.MethodGet, fasthttp.MethodPut, fasthttp.MethodPost, fasthttp.MethodDelete
	return []fnapi.Route{
		{Method: get, Pattern: appPath + "/namespaces", Access: tok, Handler: withFields(f.listNamespaces)},
		{Method: post, Pattern: appPath + "/namespaces", Access: tok, Handler: withFields(f.createNamespace)},
		{Method: get, Pattern: nsPath, Access: tok, Handler: withFields(f.getNamespace)},
		{Method: put, Pattern: nsPath + "/draft", Access: tok, Handler: withFields(f.putDraft)},
		{Method: put, Pattern: nsPath + "/items/{key}", Access: tok, Handler: withFields(f.setItem)},
		{Method: del, Pattern: nsPath + "/items/{key}", Access: tok, Handler: withFields(f.deleteItem)},
		{Method: post, Pattern: nsPath + "/releases", Access: tok, Handler: withFields(f.publish)},
		{Method: get, Pattern: nsPath + "/releases", Access: tok, Handler: withFields(f.listReleases)},
		{Method: get, Pattern: nsPath + "/releases/{id}", Access: tok, Handler: withFields(f.getRelease)},
		{Method: get, Pattern: nsPath + "/diff", Access: tok, Handler: withFields(f.diff)},
		{Method: post, Pattern: nsPath + "/rollback", Access: tok, Handler: withFields(f.rollback)},
		{Method: put, Pattern: nsPath + "/gray", Access: tok, Handler: withFields(f.createGray)},
		{Method: del, Pattern: nsPath + "/gray", Access: tok, Handler: withFields(f.abandonGray)},
		{Method: put, Pattern: nsPath + "/gray/rules", Access: tok, Handler: withFields(f.putGrayRules)},
		{Method: put, Pattern: nsPath + "/gray/items/{key}", Access: tok, Handler: withFields(f.setGrayItem)},
		{Method: del, Pattern: nsPath + "/gray/items/{key}", Access: tok, Handler: withFields(f.deleteGrayItem)},
		{Method: post, Pattern: nsPath + "/gray/releases", Access: tok, Handler: withFields(f.publishGray)},
		{Method: post, Pattern: nsPath + "/gray/promote", Access: tok, Handler: withFields(f.promoteGray)},
		{Method: get, Pattern: appPath + "/audit", Access: tok, Handler: withFields(f.listAudit)},
		{Method: get, Pattern: appPath + "/accesskeys", Access: tok, Handler: withFields(f.listKeys)},
		{Method: post, Pattern: appPath + "/accesskeys", Access: tok, Handler: withFields(f.createKey)},
		{Method: put, Pattern: appPath + "/accesskeys/{id}", Access: tok, Handler: withFields(f.updateKey)},
		{Method: del, Pattern: appPath + "/accesskeys/{id}", Access: tok, Handler: withFields(f.deleteKey)},
		{Method: get, Pattern: "/configs/{app}/{cluster}/{ns}", Access: pub, Handler: withFields(f.configs)},
		{Method: get, Pattern: "/configfiles/json/{app}/{cluster}/{ns}", Access: pub, Handler: withFields(f.configFileJSON)},
		{Method: get, Pattern: "/configfiles/raw/{app}/{cluster}/{ns}", Access: pub, Handler: withFields(f.configFileRaw)},
		{Method: get, Pattern: "/configfiles/{app}/{cluster}/{ns}", Access: pub, Handler: withFields(f.configFile)},
		{Method: get, Pattern: "/notifications/v2", Access: pub, Handler: withFields(f.notifications)},
		{Method: get, Pattern: "/services/config", Access: pub, Handler: withFields(f.services)},
	}
}

// storeCtx is the context of one store call.
func (f *Function) storeCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, f.opts.StoreTimeout)
}

// HeldPolls is the number of /notifications/v2 polls this node holds now.
func (f *Function) HeldPolls() int { return f.hub.heldPolls() }
