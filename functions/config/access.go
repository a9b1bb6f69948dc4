package config

import (
	"context"
	"strings"

	"github.com/wharfhq/wharf/artifacts/catalog"
	"github.com/wharfhq/wharf/functions/config/model"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// Access to the team API: an app's config belongs to the team that owns
// the app (internal/tenancy: the team of its first push, or of its first
// config write). Writes: admin or that team. Reads: also an agent token of
// a host the app is placed on. Other teams get the 404 of a missing app;
// ingest tokens a 403.

// appParam is the {app} of r, checked.
func appParam(r *fnapi.Request) (string, error) {
	app := r.Params.Get("app")
	if !catalog.ValidApp(app) {
		return "", httperr.BadRequest("app %q is not a valid app name: 1-63 of a-z, 0-9 and '-', starting with a letter", app)
	}
	return app, nil
}

// nsParams is the namespace of r's path, checked, with its names as
// stored (canonicalWrite: names are case-insensitive) once r's token may
// read the app; the namespace name loses a ".properties" suffix as
// Apollo's do.
func (f *Function) nsParams(r *fnapi.Request) (nsID, error) {
	app, err := appParam(r)
	if err != nil {
		return nsID{}, err
	}
	n := nsID{App: app, Cluster: r.Params.Get("cluster"), NS: model.NormalizeNamespace(r.Params.Get("ns"))}
	if err := model.ValidName("cluster", n.Cluster); err != nil {
		return nsID{}, httperr.BadRequest("cluster: %v", err)
	}
	if err := model.ValidName("namespace", n.NS); err != nil {
		return nsID{}, httperr.BadRequest("namespace: %v", err)
	}
	// The caller's permission first: a token that may not see the app
	// gets its 404 (or 403) before anything of the app's namespaces is
	// read. An app nobody owns has no namespaces to resolve: the
	// handler's own check (which may claim it) decides.
	owner, err := f.owner(r.Context(), app)
	if err != nil {
		return nsID{}, err
	}
	if owner == "" {
		return n, nil
	}
	if r.Ctx.IsGet() {
		err = f.hosts.Access(r.Context(), r.Principal, app, owner, false)
	} else {
		err = tenancy.AppAccess(r.Principal, app, owner, true)
	}
	if err != nil {
		return nsID{}, err
	}
	return f.canonicalWrite(r.Context(), n)
}

// canRead checks that r's token may read app's config.
func (f *Function) canRead(r *fnapi.Request, app string) error {
	owner, err := f.owner(r.Context(), app)
	if err != nil {
		return err
	}
	return f.hosts.Access(r.Context(), r.Principal, app, owner, false)
}

// canWrite checks that r's token may change app's config. An app nobody
// owns yet is claimed for the caller's team when claim is set (the first
// write of a namespace), as a first push does.
func (f *Function) canWrite(r *fnapi.Request, app string, claim bool) error {
	owner, err := f.owner(r.Context(), app)
	if err != nil {
		return err
	}
	if owner == "" && claim {
		return f.claim(r, app)
	}
	return tenancy.AppAccess(r.Principal, app, owner, true)
}

func (f *Function) owner(ctx context.Context, app string) (string, error) {
	owner, err := f.hosts.Owner(ctx, app)
	if err != nil {
		return "", httperr.Unavailable(err, "cannot read the owner of app %q: store unavailable", app)
	}
	return owner, nil
}

// claim records the caller's team as the owner of app (unowned), the rule
// of a first push: an admin claims for the team named like the app (or the
// team its reserved name was granted to), a team token for its one team.
func (f *Function) claim(r *fnapi.Request, app string) error {
	p := r.Principal
	var res tenancy.Reservation
	if f.opts.Reservations != nil {
		cctx, cancel := f.storeCtx(r.Context())
		rv, err := f.opts.Reservations.Reservation(cctx, app)
		cancel()
		if err != nil {
			return httperr.Unavailable(err, "cannot check the reservation of app name %q", app)
		}
		res = rv
	}
	var team string
	teams := p.Teams()
	switch {
	case p.IsAdmin() && res.Team != "":
		team = res.Team
	case p.Allows(auth.TeamScope(app)):
		team = app
	case len(teams) == 1:
		team = teams[0]
	case len(teams) == 0:
		return httperr.Forbidden("token %q lacks scope for app %q: need admin or the scope of the team that owns it", p.Name, app)
	default:
		return httperr.Forbidden("token %q holds several teams (%s): the first config of app %q must come from an admin token or a token of one team",
			p.Name, strings.Join(teams, ", "), app)
	}
	if err := tenancy.CheckClaim(app, team, res); err != nil {
		return err
	}
	cctx, cancel := f.storeCtx(r.Context())
	defer cancel()
	_, err := f.st.CompareAndSwap(cctx, tenancy.OwnerKey(app), 0, []byte(team), store.PutOptions{})
	if err != nil && !isConflict(err) {
		return httperr.Unavailable(err, "cannot record the owner of app %q: store unavailable", app)
	}
	owner, err := f.owner(r.Context(), app)
	if err != nil {
		return err
	}
	return tenancy.AppAccess(p, app, owner, true)
}
