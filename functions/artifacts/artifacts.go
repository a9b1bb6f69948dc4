// Package artifacts is the function behind Wharf's artifact API: teams push
// bundles (see artifacts/bundle) as immutable, numbered versions of an app;
// agents and people list, show and download them.
//
//	PUT    /api/v1/apps/{app}/artifacts/{version}           push (streamed; 201 with the metadata)
//	GET    /api/v1/apps/{app}/artifacts                     list, newest first
//	GET    /api/v1/apps/{app}/artifacts/{version}           show the metadata
//	GET    /api/v1/apps/{app}/artifacts/{version}/download  the bundle, streamed
//	GET    /api/v1/apps/{app}/artifacts/{version}/url       a short-lived download URL (for agents)
//	DELETE /api/v1/apps/{app}/artifacts/{version}           delete (409 while in use)
//	POST   /api/v1/artifacts/gc                             admin: retention and garbage collection
//	GET    /api/v1/apps                                     the apps the caller may see, with versions in use
//
// # Apps and teams
//
// Every app belongs to one team, recorded under artifacts/owners/<app>. The
// first push of an app claims it: for the team named like the app when the
// caller is admin or holds team:<app>, otherwise for the caller's only team
// (a token of several teams, none named like the app, is refused: push the
// first version with admin or a one-team token). A name that an admin gave
// a service (Options.Reservations) is claimed only by the team named like
// it or the team granted it (services[].team; an admin's push claims for
// that team); others get 409. From then on admin and team:<owner> may push,
// read and delete; agent tokens may read (list, show, download, url) the
// apps deployed to their own hosts; pushing to another team's app is a 409, and any other access to it is
// the 404 of an app that does not exist (internal/tenancy). Quotas count
// per owning team.
//
// # Storage
//
// The bundle is stored in a blob.Backend under apps/<app>/<version>,
// create-only; its metadata (Meta) in the store under
// artifacts/apps/<app>/versions/<version>, written with compare-and-swap
// "must not exist" after the blob was committed. A version exists when its
// metadata does; a blob without metadata is an orphan that GC removes.
//
// # Versions in use
//
// Until deploys exist, a version is in use when it is listed in the store key
// deploys/live/<app>, whose value is {"versions": ["1.4.2", ...]} (or a bare
// JSON array of versions). Delete refuses such versions with 409 and Retain
// keeps them.
package artifacts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/artifacts/blob"
	"github.com/wharfhq/wharf/artifacts/bundle"
	"github.com/wharfhq/wharf/artifacts/catalog"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// Defaults for Options.
const (
	// DefaultQuota is the per-team quota callers normally pass: 10 GiB.
	DefaultQuota int64 = 10 << 30
	// DefaultMaxBundle is the body limit a gateway route for pushes should
	// have (the route's max_body_bytes decides; see cmd/wharf).
	DefaultMaxBundle int64 = 8 << 30
	// DefaultPresignExpiry is how long a URL from .../url stays valid.
	DefaultPresignExpiry = 5 * time.Minute
	// DefaultStoreTimeout bounds every store call.
	DefaultStoreTimeout = 5 * time.Second
	// DefaultOrphanGrace is how old a blob without metadata must be before
	// GC removes it: younger ones may belong to a push still writing its
	// metadata.
	DefaultOrphanGrace = time.Hour
	// DefaultIncompleteAge is the olderThan GC passes to CleanupIncomplete.
	DefaultIncompleteAge = 24 * time.Hour
)

// HeaderSHA256 carries a bundle's hex SHA-256: optional on a push (the
// server checks it), always on a download.
const HeaderSHA256 = "X-Content-Sha256"

// Options configures the function.
type Options struct {
	// Backend stores the bundles. Required.
	Backend blob.Backend
	// Store holds metadata and app owners. Required.
	Store store.Store
	// Quota is the bytes each team may store in total; 0 means unlimited.
	// Callers normally pass DefaultQuota.
	Quota int64
	// PresignExpiry is the lifetime of URLs from .../url (default DefaultPresignExpiry).
	PresignExpiry time.Duration
	// StoreTimeout bounds every store call (default DefaultStoreTimeout).
	StoreTimeout time.Duration
	// OrphanGrace and IncompleteAge tune GC (defaults DefaultOrphanGrace,
	// DefaultIncompleteAge).
	OrphanGrace, IncompleteAge time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Unpack bounds what a pushed bundle may expand to.
	Unpack bundle.Limits
	// Logger gets the function's own log lines (handlers log through the Mux's).
	Logger *slog.Logger
	// Reservations, when set, keeps an app's first push from claiming the
	// name of a service an admin defined (see internal/tenancy).
	Reservations tenancy.Reservations
}

// Function serves the artifact API.
type Function struct {
	opts  Options
	be    blob.Backend
	st    store.Store
	hosts *tenancy.Hosts
	log   *slog.Logger
}

// New returns the function.
func New(opts Options) (*Function, error) {
	if opts.Backend == nil || opts.Store == nil {
		return nil, errors.New("cannot create the artifacts function: Backend and Store are required")
	}
	if opts.Quota < 0 {
		return nil, fmt.Errorf("cannot create the artifacts function: negative quota %d", opts.Quota)
	}
	if opts.PresignExpiry <= 0 {
		opts.PresignExpiry = DefaultPresignExpiry
	}
	if opts.StoreTimeout <= 0 {
		opts.StoreTimeout = DefaultStoreTimeout
	}
	if opts.OrphanGrace <= 0 {
		opts.OrphanGrace = DefaultOrphanGrace
	}
	if opts.IncompleteAge <= 0 {
		opts.IncompleteAge = DefaultIncompleteAge
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	hosts := tenancy.New(opts.Store, tenancy.Options{OpTimeout: opts.StoreTimeout})
	return &Function{opts: opts, be: opts.Backend, st: opts.Store, hosts: hosts, log: opts.Logger}, nil
}

// Name implements fnapi.Function.
func (f *Function) Name() string { return "artifacts" }

// Routes implements fnapi.Function. Access is checked in the handlers: it
// depends on the app's owner, which lives in the store.
func (f *Function) Routes() []fnapi.Route {
	const p = "/api/v1/apps/{app}/artifacts"
	return []fnapi.Route{
		{Method: fasthttp.MethodPut, Pattern: p + "/{version}", Access: fnapi.AnyToken(), Handler: f.push, StreamBody: true},
		{Method: fasthttp.MethodGet, Pattern: p, Access: fnapi.AnyToken(), Handler: f.list},
		{Method: fasthttp.MethodGet, Pattern: p + "/{version}", Access: fnapi.AnyToken(), Handler: f.show},
		{Method: fasthttp.MethodGet, Pattern: p + "/{version}/download", Access: fnapi.AnyToken(), Handler: f.download},
		{Method: fasthttp.MethodGet, Pattern: p + "/{version}/url", Access: fnapi.AnyToken(), Handler: f.url},
		{Method: fasthttp.MethodDelete, Pattern: p + "/{version}", Access: fnapi.AnyToken(), Handler: f.remove},
		{Method: fasthttp.MethodPost, Pattern: "/api/v1/artifacts/gc", Access: fnapi.AdminOnly(), Handler: f.gc},
		{Method: fasthttp.MethodGet, Pattern: "/api/v1/apps", Access: fnapi.AnyToken(), Handler: f.listApps},
	}
}

// Store keys (see artifacts/catalog for the keys functions/deploy shares).
func ownerKey(app string) string { return tenancy.OwnerKey(app) }

const ownersPrefix = tenancy.OwnersPrefix

// params validates the path's app (and version, when the route has one).
func params(r *fnapi.Request, withVersion bool) (app, version string, err error) {
	app = r.Params.Get("app")
	if !catalog.ValidApp(app) {
		return "", "", httperr.BadRequest("app: invalid name %q: use 1-63 of a-z, 0-9 and '-', starting with a letter", app)
	}
	if withVersion {
		version = r.Params.Get("version")
		if !catalog.ValidVersion(version) {
			return "", "", httperr.BadRequest("version: invalid version %q: use 1-128 of A-Z, a-z, 0-9, '.', '_', '-', '+', starting with a letter or digit", version)
		}
	}
	return app, version, nil
}

// storeCtx is a context for one store call.
func (f *Function) storeCtx(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, f.opts.StoreTimeout)
}

// owner returns the app's team, or "" when the app was never pushed.
func (f *Function) owner(ctx context.Context, app string) (string, error) {
	cctx, cancel := f.storeCtx(ctx)
	defer cancel()
	e, err := f.st.Get(cctx, ownerKey(app))
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", httperr.Unavailable(err, "cannot read the owner of app %q: store unavailable", app)
	}
	return string(e.Value), nil
}

// canRead checks that the caller may read the app's artifacts and returns
// the owner. A caller who may not see the app gets the same 404 as for an
// app nobody pushed (tenancy.AppAccess).
func (f *Function) canRead(r *fnapi.Request, app string) (string, error) {
	team, err := f.owner(r.Context(), app)
	if err != nil {
		return "", err
	}
	if err := f.hosts.Access(r.Context(), r.Principal, app, team, false); err != nil {
		return "", err
	}
	return team, nil
}

// canPush checks that the caller may push to the app and returns its owner
// ("" when nobody claimed it yet). An app of another team is a 409 that
// names neither the team nor its scope.
func (f *Function) canPush(r *fnapi.Request, app string) (string, error) {
	team, err := f.owner(r.Context(), app)
	if err != nil {
		return "", err
	}
	p := r.Principal
	if !p.IsAdmin() && len(p.Teams()) == 0 {
		return "", pushForbidden(p)
	}
	if team != "" && !p.Allows(auth.TeamScope(team)) {
		return "", takenError(app)
	}
	return team, nil
}

func takenError(app string) error {
	return httperr.Conflict("app name %q belongs to another team: only %s or that team's %s scope may push it; push under another app name",
		app, auth.ScopeAdmin, auth.TeamScope("<team>"))
}

// pushForbidden is the 403 of a token that holds no scope that can push.
func pushForbidden(p auth.Principal) error {
	return httperr.Forbidden("token %q (scopes %s) cannot push: need one of %s, %s",
		p.Name, strings.Join(p.Scopes, ","), auth.ScopeAdmin, auth.TeamScope("<team>"))
}

// claimTeam is the team a first push of app claims it for (see the package
// comment), given the reservation of its name: a name an admin granted to
// a team is claimed for that team by an admin's push.
func claimTeam(p auth.Principal, app string, res tenancy.Reservation) (string, error) {
	if p.IsAdmin() && res.Team != "" {
		return res.Team, nil
	}
	if p.Allows(auth.TeamScope(app)) { // admin included
		return app, nil
	}
	teams := p.Teams()
	switch len(teams) {
	case 1:
		return teams[0], nil
	case 0:
		return "", pushForbidden(p)
	default:
		return "", httperr.Forbidden("token %q holds several teams (%s): the first push of app %q must come from an admin token or a token of one team",
			p.Name, strings.Join(teams, ", "), app)
	}
}

// reservation is the reservation of app's name (none without Reservations).
func (f *Function) reservation(ctx context.Context, app string) (tenancy.Reservation, error) {
	if f.opts.Reservations == nil {
		return tenancy.Reservation{}, nil
	}
	cctx, cancel := f.storeCtx(ctx)
	defer cancel()
	res, err := f.opts.Reservations.Reservation(cctx, app)
	if err != nil {
		return tenancy.Reservation{}, httperr.Unavailable(err, "cannot check whether app name %q is reserved: store unavailable", app)
	}
	return res, nil
}

// claim records team as the app's owner unless another push did first, and
// returns the owner then in place.
func (f *Function) claim(ctx context.Context, app, team string) (string, error) {
	cctx, cancel := f.storeCtx(ctx)
	defer cancel()
	_, err := f.st.CompareAndSwap(cctx, ownerKey(app), 0, []byte(team), store.PutOptions{})
	if errors.Is(err, store.ErrConflict) {
		return f.owner(ctx, app)
	}
	if err != nil {
		return "", httperr.Unavailable(err, "cannot record the owner of app %q: store unavailable", app)
	}
	return team, nil
}

// getMeta reads one version's metadata; a missing version is a 404.
func (f *Function) getMeta(ctx context.Context, app, version string) (catalog.Meta, uint64, error) {
	cctx, cancel := f.storeCtx(ctx)
	defer cancel()
	e, err := f.st.Get(cctx, catalog.MetaKey(app, version))
	if errors.Is(err, store.ErrNotFound) {
		return catalog.Meta{}, 0, httperr.NotFound("version %q of app %q not found", version, app)
	}
	if err != nil {
		return catalog.Meta{}, 0, httperr.Unavailable(err, "cannot read artifact metadata: store unavailable")
	}
	var m catalog.Meta
	if err := json.Unmarshal(e.Value, &m); err != nil {
		return catalog.Meta{}, 0, fmt.Errorf("cannot decode metadata of %s %s: %w", app, version, err)
	}
	return m, e.Version, nil
}

// listMeta returns every version of app, newest first.
func (f *Function) listMeta(ctx context.Context, app string) ([]catalog.Meta, error) {
	var out []catalog.Meta
	err := f.scan(ctx, catalog.MetaPrefix(app), func(e store.Entry) error {
		var m catalog.Meta
		if err := json.Unmarshal(e.Value, &m); err != nil {
			return fmt.Errorf("cannot decode metadata %s: %w", e.Key, err)
		}
		out = append(out, m)
		return nil
	})
	sortNewestFirst(out)
	return out, err
}

// scan visits every entry under prefix, page by page.
func (f *Function) scan(ctx context.Context, prefix string, visit func(store.Entry) error) error {
	for e, err := range store.Entries(ctx, f.st, prefix, store.ScanOptions{PageTimeout: f.opts.StoreTimeout}) {
		if err != nil {
			return httperr.Unavailable(err, "cannot list %s: store unavailable", prefix)
		}
		if err := visit(e); err != nil {
			return err
		}
	}
	return nil
}

// usage is the bytes a team stores: the sizes of every version of its apps.
func (f *Function) usage(ctx context.Context, team string) (int64, error) {
	var apps []string
	err := f.scan(ctx, ownersPrefix, func(e store.Entry) error {
		if string(e.Value) == team {
			apps = append(apps, strings.TrimPrefix(e.Key, ownersPrefix))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	var total int64
	for _, app := range apps {
		ms, err := f.listMeta(ctx, app)
		if err != nil {
			return 0, err
		}
		for _, m := range ms {
			total += m.Size
		}
	}
	return total, nil
}

// liveVersions are the versions of app in use (deploys/live/<app>).
func (f *Function) liveVersions(ctx context.Context, app string) (map[string]bool, error) {
	cctx, cancel := f.storeCtx(ctx)
	defer cancel()
	e, err := f.st.Get(cctx, catalog.LiveKey(app))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, httperr.Unavailable(err, "cannot read the live versions of app %q: store unavailable", app)
	}
	versions, err := catalog.ParseLive(e.Value)
	if err != nil {
		return nil, fmt.Errorf("cannot decode %s: %w", catalog.LiveKey(app), err)
	}
	live := map[string]bool{}
	for _, v := range versions {
		live[v] = true
	}
	return live, nil
}
