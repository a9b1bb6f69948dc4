package ab

import (
	"fmt"
	"slices"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/monitoring/fielderr"
)

// exposureInput is one exposure of POST /fn/ab/exposures: what a
// GrowthBook SDK's trackingCallback saw (experiment.key, result.hashValue
// or the unit, result.variationId, experiment.phase).
type exposureInput struct {
	Experiment string `json:"experiment"`
	Unit       string `json:"unit"`
	Variation  *int   `json:"variation"`
	// BucketVersion is required and must be the running one (the
	// payload's phase): an exposure to an older bucket version is refused.
	BucketVersion *int `json:"bucket_version"`
}

// ExposuresResult answers POST /fn/ab/exposures.
type ExposuresResult struct {
	Accepted int `json:"accepted"`
}

// reportExposures answers POST /fn/ab/exposures[?team=]: exposures of
// units that a GrowthBook SDK decided from /api/features/{clientKey}
// (the decide routes record theirs), one or an array of up to
// MaxEventsPerRequest, all checked first (400 naming [i].field: a
// running experiment of the team, a variation of it, the running bucket
// version), then charged to each experiment's budget of reported
// exposures of the flush interval (429 with Retry-After when spent,
// nothing recorded) and recorded like a decision's (exposed.go). 202.
func (f *Function) reportExposures(r *fnapi.Request) error {
	team, err := callerTeam(r.Principal, string(r.Ctx.QueryArgs().Peek("team")), "team")
	if err != nil {
		return err
	}
	in, ok, err := decodeBatch[exposureInput](r, "exposures")
	if !ok {
		return err
	}
	st := f.snapshot()
	var errs fielderr.List
	for i, e := range in {
		p := fmt.Sprintf("[%d]", i)
		errs.Merge(p, checkUnit(e.Unit, "unit"))
		c := st.snap.Find(team, e.Experiment)
		if c == nil {
			errs.Add(p+".experiment", fmt.Sprintf("must be a running experiment of team %s", team))
			continue
		}
		if e.Variation == nil || *e.Variation < 0 || *e.Variation >= len(c.Exp.Variations) {
			errs.Add(p+".variation", fmt.Sprintf("must be a variation index 0-%d", len(c.Exp.Variations)-1))
		}
		if e.BucketVersion == nil {
			errs.Add(p+".bucket_version", fmt.Sprintf("is required: the bucket version the unit was decided in (the payload's phase; running: %d)", c.Exp.BucketVersion))
		} else if *e.BucketVersion != c.Exp.BucketVersion {
			errs.Add(p+".bucket_version", fmt.Sprintf("must be the running bucket version %d (the payload's phase): the experiment was reassigned", c.Exp.BucketVersion))
		}
	}
	if len(errs) > 0 {
		return badFields(r, "invalid exposures", errs)
	}
	var cs []charge
	for _, e := range in {
		ctr := st.counters[st.snap.Find(team, e.Experiment).Index]
		i := slices.IndexFunc(cs, func(c charge) bool { return c.ctr == ctr })
		if i < 0 {
			cs, i = append(cs, charge{ctr: ctr, key: e.Experiment}), len(cs)
		}
		cs[i].n++
	}
	if err := f.chargeReported(cs); err != nil {
		return err
	}
	now := f.opts.Now().UnixMilli()
	for _, e := range in {
		c := st.snap.Find(team, e.Experiment)
		ctr := st.counters[c.Index]
		ctr.counts[*e.Variation].Add(1)
		if !ctr.units.record(f.seed, e.Unit, *e.Variation, now) {
			f.m.exposedSkipped.Inc()
		}
	}
	return r.JSON(fasthttp.StatusAccepted, ExposuresResult{Accepted: len(in)})
}
