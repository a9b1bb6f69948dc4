// Package adminapi is the gateway's token-protected admin API, registered
// as an in-process function (admin scope for everything):
//
//	GET    /api/v1/gateway/config                 the whole edge config with its version
//	PUT    /api/v1/gateway/config                 replace it whole: {"config","if_version","source"} (409 when stale)
//	GET    /api/v1/gateway/history?limit=N        who changed what and when, newest first
//	GET    /api/v1/gateway/history/{version}      the whole config as it was at a version
//	POST   /api/v1/gateway/rollback               restore a version as a new one: {"version","if_version"}
//	GET    /api/v1/gateway/file                   how this process's start-up file differs from the store
//	GET    /api/v1/gateway/{kind}                 list routes | services | limits
//	GET    /api/v1/gateway/{kind}/{name}          one object
//	PUT    /api/v1/gateway/{kind}/{name}          create or replace it (validated; 400 names the field)
//	DELETE /api/v1/gateway/{kind}/{name}          remove it (409 while a route uses a limit or service)
//	GET    /api/v1/gateway/acl                    the global allow and deny lists
//	PUT    /api/v1/gateway/acl                    replace both lists
//	POST   /api/v1/gateway/acl/{list}             add CIDRs to allow | deny: {"cidrs": [...]}
//	DELETE /api/v1/gateway/acl/{list}?cidr=C      remove one CIDR
//	GET    /api/v1/gateway/bans                   active bans (manual and automatic)
//	POST   /api/v1/gateway/bans                   ban: {"prefix","ttl","reason","route"}
//	DELETE /api/v1/gateway/bans?prefix=P[&route=R] lift a ban
//	GET    /api/v1/gateway/stats                  this node's live counters
//	PUT    /api/v1/services/{svc}/instances/{id}  register or heartbeat an instance (admin; agent: see below)
//	DELETE /api/v1/services/{svc}/instances/{id}  deregister it at once (admin; agent: its own hosts' only)
//	GET    /api/v1/services/{svc}/instances       live instances (admin; agent: its hosts' services only)
//	GET    /api/v1/rooms/{svc}                    room policy, switch, this node's live view
//	PUT    /api/v1/rooms/{svc}/policy             set the room policy
//	POST   /api/v1/rooms/{svc}/switch             start a room switch (immediate or staged)
//	POST   /api/v1/rooms/{svc}/switch/{action}    pause | resume | abort it
//	GET    /api/v1/rooms/{svc}/history            every switch, newest first
//
// An agent token writes the registry only for its own hosts (internal/tenancy):
// labels.host must name a host bound to the token, a deploy of the app named
// like the service must have targeted that host, the address must be on the
// host's advertised address, and an instance registered by another host (or
// an admin) is not overwritten (403) nor deregistered (the 404 of a missing
// one).
//
// Every write goes through edge.Store (compare-and-swap, versioned with who
// and when) or acl.BanManager, so every gateway node picks it up through its
// store watch.
package adminapi

import (
	"errors"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway/acl"
	"github.com/wharfhq/wharf/gateway/edge"
	"github.com/wharfhq/wharf/gateway/registry"
	"github.com/wharfhq/wharf/gateway/roomswitch"
	"github.com/wharfhq/wharf/internal/cidr"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// StatsSource returns a JSON-encodable view of live counters.
type StatsSource interface{ Stats() any }

// Options configures the API.
type Options struct {
	Edge     *edge.Store
	Bans     *acl.BanManager
	Registry *registry.Registry
	// Stats may be nil when this process runs no gateway.
	Stats StatsSource
	// Switches, when set, enables the room endpoints (/api/v1/rooms/...);
	// Rooms adds this node's live view to them (nil without a gateway).
	Switches *roomswitch.Store
	Rooms    RoomsSource
	// File, when set, is this process's start-up edge config, compared with
	// the stored one by GET /api/v1/gateway/file.
	File *StartFile
	// Hosts holds the bindings of deploy hosts to agent tokens and the apps
	// deployed to them: an agent token registers instances only for its
	// hosts' apps (see internal/tenancy). Nil: agent tokens cannot write
	// the registry, only admins can.
	Hosts *tenancy.Hosts
	// MaxBanTTL caps a ban's duration (default 365 days).
	MaxBanTTL time.Duration
	// ClientIP returns the caller's address the way the gateway sees it
	// (real IP through trusted proxies); default the TCP peer. Changes
	// that would lock it out are refused unless forced.
	ClientIP func(*fasthttp.RequestCtx) netip.Addr
	// Protected are more addresses no change may lock out unless forced,
	// besides the caller and 127.0.0.1, where the CLI and the local agent
	// connect from.
	Protected []netip.Addr
	// Logger receives what happens outside a request, e.g. unlocks on the
	// internal listener; nil discards it.
	Logger *slog.Logger
}

// Function is the gateway admin API.
type Function struct{ opts Options }

// New returns the admin API.
func New(opts Options) (*Function, error) {
	if opts.Edge == nil || opts.Bans == nil || opts.Registry == nil {
		return nil, errors.New("cannot create gateway admin API: Edge, Bans and Registry are required")
	}
	if opts.MaxBanTTL <= 0 {
		opts.MaxBanTTL = 365 * 24 * time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Function{opts: opts}, nil
}

// Name implements fnapi.Function.
func (f *Function) Name() string { return "gateway" }

// Routes implements fnapi.Function.
func (f *Function) Routes() []fnapi.Route {
	a := fnapi.AdminOnly()
	const p = "/api/v1/gateway"
	return append(append(f.roomsRoutes(), f.versionRoutes()...), []fnapi.Route{
		{Method: "GET", Pattern: p + "/config", Access: a, Handler: f.getConfig},
		{Method: "GET", Pattern: p + "/history", Access: a, Handler: f.history},
		{Method: "GET", Pattern: p + "/stats", Access: a, Handler: f.stats},
		{Method: "GET", Pattern: p + "/acl", Access: a, Handler: f.getACL},
		{Method: "PUT", Pattern: p + "/acl", Access: a, Handler: f.putACL},
		{Method: "POST", Pattern: p + "/acl/{list}", Access: a, Handler: f.addACL},
		{Method: "DELETE", Pattern: p + "/acl/{list}", Access: a, Handler: f.removeACL},
		{Method: "GET", Pattern: p + "/bans", Access: a, Handler: f.listBans},
		{Method: "POST", Pattern: p + "/bans", Access: a, Handler: f.ban},
		{Method: "DELETE", Pattern: p + "/bans", Access: a, Handler: f.unban},
		{Method: "PUT", Pattern: "/api/v1/services/{svc}/instances/{id}", Access: agentOrAdmin(), Handler: f.putInstance},
		{Method: "DELETE", Pattern: "/api/v1/services/{svc}/instances/{id}", Access: agentOrAdmin(), Handler: f.deleteInstance},
		{Method: "GET", Pattern: "/api/v1/services/{svc}/instances", Access: agentOrAdmin(), Handler: f.listInstances},
		{Method: "GET", Pattern: p + "/{kind}", Access: a, Handler: f.list},
		{Method: "GET", Pattern: p + "/{kind}/{name}", Access: a, Handler: f.get},
		{Method: "PUT", Pattern: p + "/{kind}/{name}", Access: a, Handler: f.put},
		{Method: "DELETE", Pattern: p + "/{kind}/{name}", Access: a, Handler: f.del},
	}...)
}

func (f *Function) getConfig(r *fnapi.Request) error {
	d, _, err := f.opts.Edge.Get(r.Context())
	if err != nil {
		return httperr.Unavailable(err, "cannot read the edge config: store unavailable")
	}
	return r.JSON(fasthttp.StatusOK, nonNil(d))
}

func (f *Function) history(r *fnapi.Request) error {
	limit := 50
	if s := string(r.Ctx.QueryArgs().Peek("limit")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return httperr.BadRequest("limit: must be an integer between 1 and 1000, got %q", s)
		}
		limit = n
	}
	h, err := f.opts.Edge.History(r.Context(), limit)
	if err != nil {
		return httperr.Unavailable(err, "cannot read the edge config history: store unavailable")
	}
	if h == nil {
		h = []edge.Change{}
	}
	return r.JSON(fasthttp.StatusOK, map[string]any{"changes": h})
}

func (f *Function) stats(r *fnapi.Request) error {
	if f.opts.Stats == nil {
		return httperr.NotFound("this process runs no gateway")
	}
	return r.JSON(fasthttp.StatusOK, f.opts.Stats.Stats())
}

// update runs an edge change and maps its errors to HTTP: field errors →
// 400 (with the field path relative to the request body when strip is the
// object's path in the document, e.g. "routes[3]"), a change that would
// newly lock out the caller or loopback (see guarded) → 409 unless force,
// *httperr.Error as is, anything else → 503.
func (f *Function) update(r *fnapi.Request, action string, strip func(config.Edge) string, force bool, fn func(*config.Edge) error) (edge.Doc, error) {
	var where string
	guard := f.guarded(r)
	d, err := f.opts.Edge.Update(r.Context(), r.Principal.Name, action, func(e *config.Edge) error {
		before := edgeLockouts(*e, guard)
		if err := fn(e); err != nil {
			return err
		}
		if strip != nil {
			where = strip(*e)
		}
		if locked := newLockouts(before, edgeLockouts(*e, guard)); len(locked) > 0 && !force {
			return httperr.Conflict("%s", relativeFields(strings.Join(locked, "\n"), where)+forceHint)
		}
		return nil
	})
	if err == nil {
		r.Log.Info("gateway config changed", "version", d.Version, "action", action, "by", r.Principal.Name, "forced", force)
		return d, nil
	}
	var he *httperr.Error
	var fe *config.FieldError
	switch {
	case errors.As(err, &he):
		return d, he
	case errors.As(err, &fe):
		return d, httperr.BadRequest("%s", relativeFields(err.Error(), where))
	case errors.Is(err, edge.ErrContention):
		return d, httperr.Conflict("%v; retry", err)
	}
	return d, httperr.Unavailable(err, "cannot change the edge config: store unavailable")
}

func joinLines(s string) string { return strings.ReplaceAll(s, "\n", "; ") }

// relativeFields turns "routes[3].limits[0]: ..." into "limits[0]: ..." when
// where is "routes[3]", one line per error.
func relativeFields(msg, where string) string {
	if where == "" {
		return strings.ReplaceAll(msg, "\n", "; ")
	}
	lines := strings.Split(msg, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, where+".")
	}
	return strings.Join(lines, "; ")
}

func nonNil(d edge.Doc) edge.Doc {
	if d.ACL.Allow == nil {
		d.ACL.Allow = []string{}
	}
	if d.ACL.Deny == nil {
		d.ACL.Deny = []string{}
	}
	if d.Limits == nil {
		d.Limits = []config.LimitConfig{}
	}
	if d.Services == nil {
		d.Services = []config.ServiceConfig{}
	}
	if d.Routes == nil {
		d.Routes = []config.RouteConfig{}
	}
	return d
}

// parsePrefix reads an IP or CIDR from a query argument or body field.
func parsePrefix(field, s string) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, httperr.BadRequest("%s: is required (an IP or CIDR)", field)
	}
	p, err := cidr.Parse(s)
	if err != nil {
		return netip.Prefix{}, httperr.BadRequest("%s: %v", field, err)
	}
	return p, nil
}

func versionResponse(r *fnapi.Request, status int, d edge.Doc, v any) error {
	return r.JSON(status, map[string]any{"version": d.Version, "updated_by": d.UpdatedBy, "updated_at": d.UpdatedAt, "object": v})
}
