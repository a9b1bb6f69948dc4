package ab

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/ab/experiment"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/monitoring/fielderr"
)

// rampInput is the body of POST .../ramp.
type rampInput struct {
	Coverage *float64  `json:"coverage"`
	Weights  []float64 `json:"weights"`
	// DryRun answers the estimate without saving.
	DryRun bool `json:"dry_run"`
	// ConfirmReassign saves an edit that moves units between variations.
	ConfirmReassign bool `json:"confirm_reassign"`
}

// reassignInput is the body of POST .../reassign (optional).
type reassignInput struct {
	DryRun bool `json:"dry_run"`
}

// RampResult answers ramp, reassign and edit: the experiment after the edit
// (not saved on a dry run) and the estimated change.
type RampResult struct {
	Experiment experiment.Experiment `json:"experiment"`
	Change     experiment.Change     `json:"change"`
	Saved      bool                  `json:"saved"`
}

// reassignBody is the 409 of an edit that would move units.
type reassignBody struct {
	Error     string            `json:"error"`
	Change    experiment.Change `json:"change"`
	RequestID string            `json:"request_id,omitempty"`
}

// errNeedsConfirm carries the estimate of a refused edit out of update.
type errNeedsConfirm struct{ change experiment.Change }

func (e errNeedsConfirm) Error() string { return "the edit would reassign units" }

// rampExperiment answers POST /fn/ab/experiments/{team}/{key}/ramp:
// coverage and/or weights. Raising coverage only adds units; an edit that
// moves units between variations is refused (409 with the estimated share)
// unless confirm_reassign is set.
func (f *Function) rampExperiment(r *fnapi.Request) error {
	var in rampInput
	if err := r.DecodeJSON(&in); err != nil {
		return err
	}
	if in.Coverage == nil && in.Weights == nil {
		return badFields(r, "invalid ramp", fielderr.List{{Field: "coverage", Msg: "give coverage, weights or both"}})
	}
	return f.edit(r, editSpec{action: "ramp", dryRun: in.DryRun, change: func(e *experiment.Experiment) (fielderr.List, bool) {
		var errs fielderr.List
		if in.Coverage != nil {
			e.Coverage = *in.Coverage
		}
		if in.Weights != nil {
			if len(in.Weights) != len(e.Variations) {
				errs.Add("weights", fmt.Sprintf("must hold %d weights, one per variation", len(e.Variations)))
				return errs, false
			}
			for i, w := range in.Weights {
				e.Variations[i].Weight = w
			}
		}
		for _, fe := range e.Validate() {
			switch fe.Field {
			case "variations":
				fe.Field = "weights"
			case "coverage":
			default:
				if len(fe.Field) > 11 && fe.Field[:11] == "variations[" {
					fe.Field = "weights"
				}
			}
			errs = append(errs, fe)
		}
		return errs, in.ConfirmReassign
	}})
}

// reassignExperiment answers POST .../reassign: a new bucket version, which
// reshuffles every unit (an explicit, versioned reassignment).
func (f *Function) reassignExperiment(r *fnapi.Request) error {
	var in reassignInput
	if len(r.Ctx.PostBody()) > 0 {
		if err := r.DecodeJSON(&in); err != nil {
			return err
		}
	}
	return f.edit(r, editSpec{action: "reassign", dryRun: in.DryRun, change: func(e *experiment.Experiment) (fielderr.List, bool) {
		e.BucketVersion++
		return nil, true
	}})
}

// editSpec is one edit of an experiment's definition.
type editSpec struct {
	// action names the edit in the audit trail (ramp, reassign, edit).
	action string
	dryRun bool
	// revision, when not 0, is the revision the caller read: a stored
	// experiment at another revision is not edited (409).
	revision int
	// change edits the experiment; it returns the bad fields and whether
	// moving units between variations is confirmed.
	change func(*experiment.Experiment) (fielderr.List, bool)
	// detail describes the saved change for the audit trail; nil: the
	// coverage, weights and bucket version.
	detail func(before, after *experiment.Experiment) string
}

// rampDetail is the audit detail of a ramp or reassign.
func rampDetail(_, e *experiment.Experiment) string {
	ws := make([]string, len(e.Variations))
	for i, v := range e.Variations {
		ws[i] = strconv.FormatFloat(v.Weight, 'g', -1, 64)
	}
	return fmt.Sprintf("coverage %g, weights %s, bucket version %d", e.Coverage, strings.Join(ws, "/"), e.BucketVersion)
}

// edit applies sp.change to the experiment of the path, estimates the
// units it moves, and saves it unless dry run or it moves units
// unconfirmed.
func (f *Function) edit(r *fnapi.Request, sp editSpec) error {
	team, err := pathTeam(r, "experiment")
	if err != nil {
		return err
	}
	key := r.Params.Get("key")
	if sp.detail == nil {
		sp.detail = rampDetail
	}
	var res RampResult
	var bad fielderr.List
	after, err := update(f, r, experimentKey(team, key), "experiment", func(e *experiment.Experiment) error {
		if sp.revision != 0 && e.Revision != sp.revision {
			return httperr.Conflict("experiment %s/%s is at revision %d, not %d: read it again and repeat the edit", team, key, e.Revision, sp.revision)
		}
		var layer *experiment.Layer
		if e.Layer != "" {
			var l experiment.Layer
			ctx, cancel := f.storeCtx(r)
			_, err := f.load(ctx, layerKey(team, e.Layer), &l, "layer")
			cancel()
			if err != nil {
				return err
			}
			layer = &l
		}
		before := *e
		before.Variations = append([]experiment.Variation(nil), e.Variations...)
		errs, confirmed := sp.change(e)
		if len(errs) > 0 {
			bad = errs
			return errNeedsConfirm{}
		}
		res.Change = experiment.Estimate(before, layer, *e, layer)
		if sp.dryRun {
			res.Experiment = *e
			return errNeedsConfirm{change: res.Change}
		}
		if res.Change.Reassigns() && !confirmed {
			return errNeedsConfirm{change: res.Change}
		}
		e.Record(r.Principal.Name, f.opts.Now().UTC(), sp.action, fmt.Sprintf("%s; moved %.2f%%, entering %.2f%%, leaving %.2f%%",
			sp.detail(&before, e), res.Change.Moved*100, res.Change.Entering*100, res.Change.Leaving*100))
		return nil
	})
	switch {
	case len(bad) > 0:
		return badFields(r, "invalid "+sp.action, bad)
	case sp.dryRun && err != nil && res.Experiment.Key != "":
		return r.JSON(fasthttp.StatusOK, res)
	case err != nil:
		if nc, ok := err.(errNeedsConfirm); ok {
			return r.JSON(fasthttp.StatusConflict, reassignBody{
				Error:  fmt.Sprintf("the edit would move %.2f%% of the units to another variation; repeat with confirm_reassign to save it", nc.change.Moved*100),
				Change: nc.change, RequestID: r.RequestID})
		}
		return err
	}
	res.Experiment, res.Saved = after, true
	r.Ctx.Response.Header.Set("ETag", `"`+strconv.Itoa(after.Revision)+`"`)
	return r.JSON(fasthttp.StatusOK, res)
}
