package ab

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wharfhq/wharf/functions/ab/experiment"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/monitoring/fielderr"
)

// editInput is the body of PATCH and PUT /fn/ab/experiments/{team}/{key}:
// the definition's fields (PATCH: those given; PUT: all, absent ones take
// their defaults) and how to save them.
type editInput struct {
	// Revision is the revision the caller read (as If-Match); 0: any.
	Revision          int                     `json:"revision"`
	Layer             *string                 `json:"layer"`
	Range             *[2]int                 `json:"range"`
	Seed              *string                 `json:"seed"`
	HashVersion       *int                    `json:"hash_version"`
	HashAttribute     *string                 `json:"hash_attribute"`
	FallbackAttribute *string                 `json:"fallback_attribute"`
	Variations        *[]experiment.Variation `json:"variations"`
	Coverage          *float64                `json:"coverage"`
	// Condition and Forced replace the current ones; {} clears them.
	Condition *map[string]any `json:"condition"`
	Forced    *map[string]int `json:"forced"`
	Holdout   *float64        `json:"holdout"`
	// NewBucketVersion saves the edit as the next bucket version: every
	// unit is hashed anew and results start over. Required to change the
	// seed, hash version, hash attribute, a set fallback attribute or number of variations of an
	// experiment that has run.
	NewBucketVersion bool `json:"new_bucket_version"`
	// ConfirmReassign saves an edit that moves units between variations.
	ConfirmReassign bool `json:"confirm_reassign"`
	// DryRun answers the estimate without saving.
	DryRun bool `json:"dry_run"`
}

// reshuffles reports whether changing field name from before to after
// moves units between variations wholesale, so that on an experiment that
// has run it needs a new bucket version: the seed, hash version, hash
// attribute, number of variations, or a fallback attribute that units were
// hashed by (from none to one only lets units in).
func reshuffles(name string, before, after *experiment.Experiment) bool {
	switch name {
	case "seed", "hash_version", "hash_attribute":
		return true
	case "variations":
		return len(before.Variations) != len(after.Variations)
	case "fallback_attribute":
		return before.FallbackAttribute != ""
	}
	return false
}

// patchExperiment answers PATCH /fn/ab/experiments/{team}/{key}: the
// fields given replace the current ones.
func (f *Function) patchExperiment(r *fnapi.Request) error { return f.editExperiment(r, false) }

// putExperiment answers PUT /fn/ab/experiments/{team}/{key}: the body is
// the whole definition (variations required; a layer's range required).
func (f *Function) putExperiment(r *fnapi.Request) error { return f.editExperiment(r, true) }

// editExperiment edits the definition of the experiment of the path in
// place, with compare-and-swap on its revision (If-Match or "revision"),
// the estimate of the units it moves (as ramp), and the audit. 200 with
// the experiment and the estimate; 400 naming each bad field (a change
// that needs new_bucket_version among them); 409 on a stale revision or
// an unconfirmed move of units.
func (f *Function) editExperiment(r *fnapi.Request, whole bool) error {
	var in editInput
	if err := r.DecodeJSON(&in); err != nil {
		return err
	}
	rev, err := ifMatch(r, in.Revision)
	if err != nil {
		return err
	}
	if whole && in.Variations == nil {
		return badFields(r, "invalid edit", fielderr.List{{Field: "variations", Msg: "is required: PUT replaces the whole definition (PATCH changes some fields)"}})
	}
	if !whole && in.empty() {
		return httperr.BadRequest("nothing to change: give at least one field of the definition (or new_bucket_version)")
	}
	var cur experiment.Experiment
	ctx, cancel := f.storeCtx(r)
	team, err := pathTeam(r, "experiment")
	if err == nil {
		_, err = f.load(ctx, experimentKey(team, r.Params.Get("key")), &cur, "experiment")
	}
	cancel()
	if err != nil {
		return err
	}
	// A range of a layer is claimed before the write (claims.go), even
	// one equal to the range read: the experiment may have moved since,
	// and another taken that range.
	claimed := false
	if in.Range != nil && cur.Layer != "" {
		want := cur
		want.Range = *in.Range
		if errs := want.Validate(); len(errs) == 0 {
			release, other, err := f.claimRange(r, want)
			if err != nil {
				return err
			}
			if other != "" {
				return badFields(r, "invalid edit", fielderr.List{{Field: "range", Msg: fmt.Sprintf("overlaps the range of experiment %q in layer %q", other, cur.Layer)}})
			}
			defer release()
			claimed = true
		}
	}
	return f.edit(r, editSpec{action: "edit", dryRun: in.DryRun, revision: rev, detail: editDetail,
		change: func(e *experiment.Experiment) (fielderr.List, bool) {
			before := *e
			apply(e, in, whole)
			e.Normalize()
			errs := e.Validate()
			if e.Layer != "" && e.Range != before.Range && !claimed {
				errs.Add("range", "changed meanwhile by another write: read the experiment again and repeat the edit")
			}
			if in.Layer != nil && *in.Layer != before.Layer || whole && in.Layer == nil && before.Layer != "" {
				errs.Add("layer", "cannot be changed: create another experiment in the other layer")
			}
			if whole && e.Layer != "" && in.Range == nil {
				errs.Add("range", "is required with a layer: the experiment's buckets [start, end) of the layer's 10000")
			}
			if before.Status != experiment.Draft && !in.NewBucketVersion {
				for _, name := range changedFields(&before, e) {
					if reshuffles(name, &before, e) {
						what := name
						switch name {
						case "variations":
							what = "the number of variations"
						case "fallback_attribute":
							what = "the fallback_attribute (units without the hash attribute were hashed by it)"
						}
						errs.Add(name, fmt.Sprintf("changing %s of a %s experiment moves every unit: give new_bucket_version to save it as bucket version %d (results start over), or create another experiment", what, before.Status, before.BucketVersion+1))
					}
				}
			}
			if in.NewBucketVersion {
				e.BucketVersion = before.BucketVersion + 1
			}
			return errs, in.ConfirmReassign || in.NewBucketVersion || before.Status == experiment.Draft
		}})
}

// empty reports whether in changes nothing: no field of the definition
// and no new bucket version.
func (in *editInput) empty() bool {
	return in.Layer == nil && in.Range == nil && in.Seed == nil && in.HashVersion == nil && in.HashAttribute == nil &&
		in.FallbackAttribute == nil && in.Variations == nil && in.Coverage == nil && in.Condition == nil &&
		in.Forced == nil && in.Holdout == nil && !in.NewBucketVersion
}

// apply sets the fields of in on e (whole: every definitional field,
// absent ones to their defaults).
func apply(e *experiment.Experiment, in editInput, whole bool) {
	if whole {
		*e = experiment.Experiment{Key: e.Key, Team: e.Team, Layer: e.Layer, Range: e.Range, Status: e.Status,
			BucketVersion: e.BucketVersion, Audit: e.Audit, History: e.History, Coverage: 1}
		if e.Layer == "" {
			e.Range = [2]int{}
		}
	}
	if in.Range != nil {
		e.Range = *in.Range
	}
	if in.Seed != nil {
		e.Seed = *in.Seed
	}
	if in.HashVersion != nil {
		e.HashVersion = *in.HashVersion
	}
	if in.HashAttribute != nil {
		e.HashAttribute = *in.HashAttribute
	}
	if in.FallbackAttribute != nil {
		e.FallbackAttribute = *in.FallbackAttribute
	}
	if in.Variations != nil {
		e.Variations = *in.Variations
	}
	if in.Coverage != nil {
		e.Coverage = *in.Coverage
	}
	if in.Condition != nil {
		e.Condition = *in.Condition
		if len(e.Condition) == 0 {
			e.Condition = nil
		}
	}
	if in.Forced != nil {
		e.Forced = *in.Forced
		if len(e.Forced) == 0 {
			e.Forced = nil
		}
	}
	if in.Holdout != nil {
		e.Holdout = *in.Holdout
	}
}

// changedFields names the definitional fields that differ between a and b.
func changedFields(a, b *experiment.Experiment) []string {
	var out []string
	add := func(name string, changed bool) {
		if changed {
			out = append(out, name)
		}
	}
	add("range", a.Range != b.Range)
	add("seed", a.Seed != b.Seed)
	add("hash_version", a.HashVersion != b.HashVersion)
	add("hash_attribute", a.HashAttribute != b.HashAttribute)
	add("fallback_attribute", a.FallbackAttribute != b.FallbackAttribute)
	add("variations", !reflect.DeepEqual(a.Variations, b.Variations))
	add("coverage", a.Coverage != b.Coverage)
	add("condition", !reflect.DeepEqual(a.Condition, b.Condition))
	add("forced", !reflect.DeepEqual(a.Forced, b.Forced))
	add("holdout", a.Holdout != b.Holdout)
	return out
}

// editDetail is the audit detail of an edit: the fields changed.
func editDetail(before, after *experiment.Experiment) string {
	fields := changedFields(before, after)
	if len(fields) == 0 {
		fields = []string{"nothing"}
	}
	return fmt.Sprintf("changed %s, bucket version %d", strings.Join(fields, ", "), after.BucketVersion)
}

// ifMatch is the revision the caller read: If-Match ("3", W/"3" or 3; *
// for any) or the body's revision (both: they must agree).
func ifMatch(r *fnapi.Request, body int) (int, error) {
	h := strings.TrimSpace(string(r.Ctx.Request.Header.Peek("If-Match")))
	if h == "" || h == "*" {
		if body < 0 {
			return 0, httperr.BadRequest("field \"revision\" must be a positive revision")
		}
		return body, nil
	}
	v := strings.Trim(strings.TrimPrefix(h, "W/"), `"`)
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, httperr.BadRequest("If-Match must be the experiment's revision as its ETag gives it (\"3\"), not %q", truncate(h, 40))
	}
	if body != 0 && body != n {
		return 0, httperr.BadRequest("If-Match (%d) and field \"revision\" (%d) disagree", n, body)
	}
	return n, nil
}

// truncate cuts s to at most n bytes, at a rune boundary, marking a cut
// with an ellipsis.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
