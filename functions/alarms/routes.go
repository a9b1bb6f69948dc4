package alarms

import (
	"encoding/json"
	"errors"

	"github.com/valyala/fasthttp"
	"go.yaml.in/yaml/v3"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/amroute"
	"github.com/wharfhq/wharf/monitoring/fielderr"
)

// RouteHistory is the answer of GET /api/v1/routes/{team}?history=1:
// every stored version, oldest first.
type RouteHistory struct {
	Versions []amroute.Versioned `json:"versions"`
}

// routeDoc is team's route tree as a versioned document.
func routeDoc(team string) versionedDoc { return teamDoc(wire.RouteKey(team), "routes", team) }

// readRoute reads team's current route tree; found false when none.
func (f *Function) readRoute(r *fnapi.Request, team string) (amroute.Versioned, bool, error) {
	v, ver, err := readDoc[amroute.Versioned](f, r, routeDoc(team))
	return v, ver != 0, err
}

// getRoute answers team's route tree, or with history=1 its versions.
func (f *Function) getRoute(r *fnapi.Request) error {
	team, err := pathTeam(r)
	if err != nil {
		return err
	}
	if h, err := boolArg(r, "history", false); err != nil {
		return err
	} else if h {
		out := RouteHistory{Versions: []amroute.Versioned{}}
		prefix := wire.RoutePrefix + team + "/history/"
		for e, err := range store.Entries(r.Context(), f.opts.Store, prefix, store.ScanOptions{PageTimeout: f.opts.StoreTimeout}) {
			if err != nil {
				return httperr.Unavailable(err, "cannot list the route history")
			}
			var v amroute.Versioned
			if err := json.Unmarshal(e.Value, &v); err == nil {
				out.Versions = append(out.Versions, v)
			}
		}
		return r.JSON(fasthttp.StatusOK, out)
	}
	v, ok, err := f.readRoute(r, team)
	if err != nil {
		return err
	}
	if !ok {
		return httperr.NotFound("team %q has no routes yet; PUT them", team)
	}
	return r.JSON(fasthttp.StatusOK, v)
}

// putRoute replaces team's route tree with the body (Alertmanager's route
// syntax, YAML or JSON; every receiver named must exist), 400 naming the
// fields. version=N makes it a compare-and-swap on the version read
// before (409 when another write came first; 0 = there must be none);
// comment= is kept with the version. Every version is kept in the
// history.
func (f *Function) putRoute(r *fnapi.Request) error {
	team, err := pathTeam(r)
	if err != nil {
		return err
	}
	args, err := versionedPutArgs(r)
	if err != nil {
		return err
	}
	names, err := f.receiverNames(r, team)
	if err != nil {
		return err
	}
	body := r.Ctx.PostBody()
	if _, err := amroute.Decode(body, func(n string) bool { return names[n] }); err != nil {
		var l fielderr.List
		if errors.As(err, &l) {
			return badFields(r, "invalid routes", l)
		}
		return httperr.BadRequest("invalid routes: %v", err)
	}
	var c amroute.Config
	if err := yaml.Unmarshal(body, &c); err != nil { // Decode took it: cannot fail
		return httperr.BadRequest("invalid routes: %v", err)
	}
	next, b, err := replaceDoc(f, r, routeDoc(team), args, func(v amroute.Versioned) int64 { return v.Version },
		func(cur amroute.Versioned) amroute.Versioned {
			return cur.Next(c, r.Principal.Name, f.opts.Now().UTC(), args.comment)
		})
	if err != nil {
		return err
	}
	ctx, cancel := f.storeCtx(r)
	defer cancel()
	if _, err := f.opts.Store.Put(ctx, wire.RouteHistoryKey(team, int(next.Version)), b, store.PutOptions{}); err != nil {
		f.log.Error("cannot keep a route version in the history", "team", team, "version", next.Version, "err", err)
	}
	return r.JSON(fasthttp.StatusOK, next)
}
