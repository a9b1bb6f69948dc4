package alarms

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

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

// readRoute reads team's current route tree; found false when none.
func (f *Function) readRoute(r *fnapi.Request, team string) (amroute.Versioned, bool, error) {
	var v amroute.Versioned
	ctx, cancel := f.storeCtx(r)
	defer cancel()
	e, err := f.opts.Store.Get(ctx, wire.RouteKey(team))
	if errors.Is(err, store.ErrNotFound) {
		return v, false, nil
	}
	if err != nil {
		return v, false, httperr.Unavailable(err, "cannot read the routes of %q", team)
	}
	if err := json.Unmarshal(e.Value, &v); err != nil {
		return v, false, fmt.Errorf("cannot decode the routes of %q: %w", team, err)
	}
	return v, true, nil
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
	q := r.Ctx.QueryArgs()
	want := int64(-1)
	if v := q.Peek("version"); len(v) > 0 {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil || n < 0 {
			return httperr.BadRequest("version must be the version read before (0: none yet), got %q", v)
		}
		want = n
	}
	comment := string(q.Peek("comment"))
	if len(comment) > 1024 {
		return httperr.BadRequest("comment must be at most 1024 bytes")
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
	var cur amroute.Versioned
	var expect uint64
	ctx, cancel := f.storeCtx(r)
	defer cancel()
	e, err := f.opts.Store.Get(ctx, wire.RouteKey(team))
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return httperr.Unavailable(err, "cannot read the routes of %q", team)
	default:
		if err := json.Unmarshal(e.Value, &cur); err != nil {
			return fmt.Errorf("cannot decode the routes of %q: %w", team, err)
		}
		expect = e.Version
	}
	if want >= 0 && want != cur.Version {
		return httperr.Conflict("the routes of %q are at version %d, not %d; read them again", team, cur.Version, want)
	}
	next := cur.Next(c, r.Principal.Name, f.opts.Now().UTC(), comment)
	b, err := json.Marshal(next)
	if err != nil {
		return fmt.Errorf("cannot encode routes: %w", err)
	}
	if _, err := f.opts.Store.CompareAndSwap(ctx, wire.RouteKey(team), expect, b, store.PutOptions{}); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return httperr.Conflict("the routes of %q changed meanwhile; read them again", team)
		}
		return httperr.Unavailable(err, "cannot store the routes of %q", team)
	}
	if _, err := f.opts.Store.Put(ctx, wire.RouteHistoryKey(team, int(next.Version)), b, store.PutOptions{}); err != nil {
		f.log.Error("cannot keep a route version in the history", "team", team, "version", next.Version, "err", err)
	}
	return r.JSON(fasthttp.StatusOK, next)
}
