package ab

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/ab/experiment"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/monitoring/fielderr"
)

// experimentInput is the body of POST /fn/ab/experiments.
type experimentInput struct {
	Team              string                 `json:"team"`
	Key               string                 `json:"key"`
	Layer             string                 `json:"layer"`
	Range             *[2]int                `json:"range"`
	Seed              string                 `json:"seed"`
	HashVersion       int                    `json:"hash_version"`
	HashAttribute     string                 `json:"hash_attribute"`
	FallbackAttribute string                 `json:"fallback_attribute"`
	Variations        []experiment.Variation `json:"variations"`
	Coverage          *float64               `json:"coverage"`
	Condition         map[string]any         `json:"condition"`
	Forced            map[string]int         `json:"forced"`
	Holdout           float64                `json:"holdout"`
}

// ExperimentList is the answer of GET /fn/ab/experiments.
type ExperimentList struct {
	Experiments []experiment.Experiment `json:"experiments"`
}

// ExperimentView is one experiment as GET answers it: with its
// exposures per variation and the live sample-ratio check.
type ExperimentView struct {
	experiment.Experiment
	Exposures []int64 `json:"exposures"`
	SRM       SRM     `json:"srm"`
}

// createExperiment answers POST /fn/ab/experiments: 201 with the draft,
// 400 naming each bad field (a missing layer, a range overlapping another
// experiment of the layer), 409 when it exists.
func (f *Function) createExperiment(r *fnapi.Request) error {
	var in experimentInput
	if err := r.DecodeJSON(&in); err != nil {
		return err
	}
	team, err := callerTeam(r.Principal, in.Team, "team")
	if err != nil {
		return err
	}
	e := experiment.Experiment{Key: in.Key, Team: team, Layer: in.Layer, Seed: in.Seed, HashVersion: in.HashVersion,
		HashAttribute: in.HashAttribute, FallbackAttribute: in.FallbackAttribute, Variations: in.Variations,
		Coverage: 1, Condition: in.Condition, Forced: in.Forced, Holdout: in.Holdout, Status: experiment.Draft}
	if in.Coverage != nil {
		e.Coverage = *in.Coverage
	}
	if in.Range != nil {
		e.Range = *in.Range
	}
	e.Normalize()
	errs := e.Validate()
	if in.Layer != "" && in.Range == nil {
		errs.Add("range", "is required with a layer: the experiment's buckets [start, end) of the layer's 10000")
	}
	if len(errs) == 0 {
		errs = append(errs, f.checkLayer(r, e)...)
	}
	if len(errs) > 0 {
		return badFields(r, "invalid experiment", errs)
	}
	release, other, err := f.claimRange(r, e) // claims.go
	if err != nil {
		return err
	}
	if other != "" {
		errs.Add("range", fmt.Sprintf("overlaps the range of experiment %q in layer %q", other, e.Layer))
		return badFields(r, "invalid experiment", errs)
	}
	defer release()
	e.Record(r.Principal.Name, f.opts.Now().UTC(), "create", fmt.Sprintf("%d variations, coverage %g", len(e.Variations), e.Coverage))
	if err := f.create(r, experimentKey(team, e.Key), e, "experiment "+team+"/"+e.Key); err != nil {
		return err
	}
	return r.JSON(fasthttp.StatusCreated, e)
}

// checkLayer checks that e's layer exists and that no other experiment
// of the layer (not stopped) owns an overlapping range.
func (f *Function) checkLayer(r *fnapi.Request, e experiment.Experiment) fielderr.List {
	var errs fielderr.List
	if e.Layer == "" {
		return nil
	}
	var l experiment.Layer
	ctx, cancel := f.storeCtx(r)
	_, err := f.load(ctx, layerKey(e.Team, e.Layer), &l, "layer")
	cancel()
	if err != nil {
		errs.Add("layer", fmt.Sprintf("layer %q of team %q: %v", e.Layer, e.Team, err))
		return errs
	}
	others, err := list(f, r, experimentPrefix+e.Team+"/", func(x experiment.Experiment) string { return x.Team })
	if err != nil {
		errs.Add("range", "cannot check the other experiments of the layer: "+err.Error())
		return errs
	}
	if k := experiment.Overlaps(e, others); k != "" {
		errs.Add("range", fmt.Sprintf("overlaps the range of experiment %q in layer %q", k, e.Layer))
	}
	return errs
}

// listExperiments answers GET /fn/ab/experiments[?team=].
func (f *Function) listExperiments(r *fnapi.Request) error {
	prefix := experimentPrefix
	if t := string(r.Ctx.QueryArgs().Peek("team")); t != "" {
		if _, err := callerTeam(r.Principal, t, "team"); err != nil {
			return err
		}
		prefix += t + "/"
	}
	es, err := list(f, r, prefix, func(e experiment.Experiment) string { return e.Team })
	if err != nil {
		return err
	}
	return r.JSON(fasthttp.StatusOK, ExperimentList{Experiments: es})
}

// pathExperiment reads the experiment of the path.
func (f *Function) pathExperiment(r *fnapi.Request) (experiment.Experiment, error) {
	var e experiment.Experiment
	team, err := pathTeam(r, "experiment")
	if err != nil {
		return e, err
	}
	ctx, cancel := f.storeCtx(r)
	defer cancel()
	_, err = f.load(ctx, experimentKey(team, r.Params.Get("key")), &e, "experiment")
	return e, err
}

// getExperiment answers GET /fn/ab/experiments/{team}/{key}: the
// experiment, its exposures (stored and not yet flushed) and live SRM.
func (f *Function) getExperiment(r *fnapi.Request) error {
	e, err := f.pathExperiment(r)
	if err != nil {
		return err
	}
	exp, err := f.exposures(r, e)
	if err != nil {
		return err
	}
	r.Ctx.Response.Header.Set("ETag", `"`+strconv.Itoa(e.Revision)+`"`)
	return r.JSON(fasthttp.StatusOK, ExperimentView{Experiment: e, Exposures: exp, SRM: checkSRM(exp, e.Weights())})
}

// transition moves the experiment of the path to status to.
func (f *Function) transition(r *fnapi.Request, to experiment.Status) error {
	team, err := pathTeam(r, "experiment")
	if err != nil {
		return err
	}
	key := r.Params.Get("key")
	if to == experiment.Running {
		// Claim the range before the write that makes it run (claims.go).
		var cur experiment.Experiment
		ctx, cancel := f.storeCtx(r)
		_, err := f.load(ctx, experimentKey(team, key), &cur, "experiment")
		cancel()
		if err != nil {
			return err
		}
		release, other, err := f.claimRange(r, cur)
		if err != nil {
			return err
		}
		if other != "" {
			return httperr.Conflict("cannot start experiment %s/%s: range: overlaps the range of experiment %q in layer %q", team, key, other, cur.Layer)
		}
		defer release()
	}
	e, err := update(f, r, experimentKey(team, key), "experiment", func(e *experiment.Experiment) error {
		if !experiment.CanTransition(e.Status, to) {
			return httperr.Conflict("experiment %s/%s is %s: cannot become %s (draft → running → stopped, stopped → running)", team, key, e.Status, to)
		}
		if to == experiment.Running {
			if errs := f.checkLayer(r, *e); len(errs) > 0 {
				return httperr.Conflict("cannot start experiment %s/%s: %v", team, key, errs)
			}
		}
		action := map[experiment.Status]string{experiment.Running: "start", experiment.Stopped: "stop"}[to]
		e.Record(r.Principal.Name, f.opts.Now().UTC(), action, fmt.Sprintf("%s → %s", e.Status, to))
		e.Status = to
		return nil
	})
	if err != nil {
		return err
	}
	return r.JSON(fasthttp.StatusOK, e)
}

func (f *Function) startExperiment(r *fnapi.Request) error {
	return f.transition(r, experiment.Running)
}
func (f *Function) stopExperiment(r *fnapi.Request) error { return f.transition(r, experiment.Stopped) }

// decodeExperiment decodes a stored experiment.
func decodeExperiment(b []byte) (experiment.Experiment, error) {
	var e experiment.Experiment
	err := json.Unmarshal(b, &e)
	return e, err
}
