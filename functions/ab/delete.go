package ab

import (
	"errors"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/ab/experiment"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
)

// deleteExperiment answers DELETE /fn/ab/experiments/{team}/{key}: 204 for
// a draft or stopped experiment; 409 while it runs (stop it first). Its
// exposed units go (exposed.go); its exposure counts and the teams' metric
// totals stay.
func (f *Function) deleteExperiment(r *fnapi.Request) error {
	team, err := pathTeam(r, "experiment")
	if err != nil {
		return err
	}
	key := experimentKey(team, r.Params.Get("key"))
	var e experiment.Experiment
	ctx, cancel := f.storeCtx(r)
	defer cancel()
	ver, err := f.load(ctx, key, &e, "experiment")
	if err != nil {
		return err
	}
	if e.Status == experiment.Running {
		return httperr.Conflict("experiment %s/%s is running: stop it first", team, e.Key)
	}
	if err := f.deleteAt(r, key, ver, "experiment"); err != nil {
		return err
	}
	f.dropExposed(r, e)
	return nil
}

// dropExposed deletes the exposed units of every bucket version of e (one
// record per unit: nothing reads them once e is gone); best effort, a key
// left behind is logged.
func (f *Function) dropExposed(r *fnapi.Request, e experiment.Experiment) {
	id := e.Team + "/" + e.Key + "/" + strconv.FormatInt(e.CreatedAt.UnixNano(), 10) + "/"
	var keys []string
	for _, prefix := range []string{exposedPrefix + id, exposedCountPrefix + id} {
		for en, err := range store.Entries(r.Context(), f.opts.Store, prefix, store.ScanOptions{PageTimeout: f.opts.StoreTimeout}) {
			if err != nil {
				f.log.Warn("cannot list the exposed units of a deleted experiment", "prefix", prefix, "err", err)
				return
			}
			keys = append(keys, en.Key)
		}
	}
	for _, k := range keys {
		ctx, cancel := f.storeCtx(r)
		if _, err := f.opts.Store.Delete(ctx, k); err != nil && !errors.Is(err, store.ErrNotFound) {
			f.log.Warn("cannot delete exposed units of a deleted experiment", "key", k, "err", err)
		}
		cancel()
	}
}

// deleteLayer answers DELETE /fn/ab/layers/{team}/{name}: 204 when no
// experiment of the team names the layer; 409 otherwise.
func (f *Function) deleteLayer(r *fnapi.Request) error {
	team, err := pathTeam(r, "layer")
	if err != nil {
		return err
	}
	name := r.Params.Get("name")
	var l experiment.Layer
	ctx, cancel := f.storeCtx(r)
	ver, err := f.load(ctx, layerKey(team, name), &l, "layer")
	cancel()
	if err != nil {
		return err
	}
	exps, err := list(f, r, experimentPrefix+team+"/", func(e experiment.Experiment) string { return e.Team })
	if err != nil {
		return err
	}
	for _, e := range exps {
		if e.Layer == name {
			return httperr.Conflict("layer %s/%s holds experiment %q: delete its experiments first", team, name, e.Key)
		}
	}
	return f.deleteAt(r, layerKey(team, name), ver, "layer")
}

// deleteAt deletes key if it is still at version ver (409 otherwise).
func (f *Function) deleteAt(r *fnapi.Request, key string, ver uint64, what string) error {
	ctx, cancel := f.storeCtx(r)
	defer cancel()
	if _, err := f.opts.Store.CompareAndDelete(ctx, key, ver); err != nil {
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			return httperr.Conflict("the %s changed meanwhile; read it again", what)
		}
		return httperr.Unavailable(err, "cannot delete the %s", what)
	}
	r.Ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}
