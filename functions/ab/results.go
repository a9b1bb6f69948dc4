package ab

import (
	"encoding/json"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/ab/experiment"
	"github.com/wharfhq/wharf/functions/ab/wire"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
)

// Results answers GET /fn/ab/results/{team}/{key}.
type Results struct {
	Experiment    string   `json:"experiment"`
	Team          string   `json:"team"`
	Status        string   `json:"status"`
	BucketVersion int      `json:"bucket_version"`
	Variations    []string `json:"variations"`
	// Exposures are the decisions per variation (every decision counts,
	// repeated ones too); ExposedUnits the units exposed per variation,
	// the population of the statistics.
	Exposures    []int64 `json:"exposures"`
	ExposedUnits []int64 `json:"exposed_units"`
	// MultipleExposures counts the units exposed to more than one
	// variation (an edit moved them): reported, left out of every count.
	MultipleExposures int `json:"multiple_exposures"`
	// ExposedTruncated is set when the bucket version's stored units
	// reached MaxStoredUnits: units exposed since are not in the counts
	// nor the statistics.
	ExposedTruncated bool `json:"exposed_truncated"`
	// SRM is the sample-ratio check of the exposed units.
	SRM  SRM    `json:"srm"`
	Trim string `json:"trim"`
	// Population narrows the exposed units to those that sent this metric
	// (with population=).
	Population string         `json:"population,omitempty"`
	Metrics    []MetricResult `json:"metrics"`
}

// results answers GET /fn/ab/results/{team}/{key}[?metric=NAME...][&trim=none|iqr|cap:P[:pooled]][&holm=true][&population=METRIC]:
// per metric and variation the statistics of the per-unit totals.
//
// The population is the units exposed to the experiment's current bucket
// version by a decision (exposed.go), each in the variation it was
// exposed to; units exposed to several variations are left out (and
// counted in multiple_exposures). A unit's value for a metric is its
// total, 0 when it sent no event of the metric. With population=METRIC
// only the exposed units that sent METRIC count.
func (f *Function) results(r *fnapi.Request) error {
	e, err := f.pathExperiment(r)
	if err != nil {
		return err
	}
	q := r.Ctx.QueryArgs()
	trim, errs := parseTrim(string(q.Peek("trim")))
	holm := false
	switch string(q.Peek("holm")) {
	case "", "false", "0":
	case "true", "1":
		holm = true
	default:
		errs.Add("holm", "must be true or false")
	}
	population := string(q.Peek("population"))
	if population != "" && !experiment.ValidKey(population) {
		errs.Add("population", "must be a metric name")
	}
	var metrics []string
	for _, m := range q.PeekMulti("metric") {
		if !experiment.ValidKey(string(m)) {
			errs.Add("metric", "must be a metric name")
		}
		metrics = append(metrics, string(m))
	}
	if len(errs) > 0 {
		return badFields(r, "invalid results request", errs)
	}
	if len(metrics) == 0 {
		if metrics, err = f.metricNames(r, e.Team); err != nil {
			return err
		}
	}
	exposures, err := f.exposures(r, e)
	if err != nil {
		return err
	}
	exposed, err := f.exposedUnits(r, e)
	if err != nil {
		return err
	}
	out := Results{Experiment: e.Key, Team: e.Team, Status: string(e.Status), BucketVersion: e.BucketVersion,
		Exposures: exposures, ExposedUnits: exposed.counts, MultipleExposures: exposed.multiple, ExposedTruncated: exposed.truncated,
		SRM: checkSRM(exposed.counts, e.Weights()), Trim: trim.String(), Metrics: []MetricResult{}}
	for _, v := range e.Variations {
		out.Variations = append(out.Variations, v.Name)
	}
	var pop map[string]bool
	if population != "" {
		if pop, err = f.unitSet(r, e.Team, population); err != nil {
			return err
		}
		out.Population = population
	}
	for _, m := range metrics {
		arms, zeros, err := f.unitValues(r, e, exposed, m, pop)
		if err != nil {
			return err
		}
		out.Metrics = append(out.Metrics, analyze(m, arms, zeros, e.Weights(), trim))
	}
	if holm {
		applyHolm(out.Metrics)
	}
	return r.JSON(fasthttp.StatusOK, out)
}

// unitValues are the per-unit totals of metric by variation of the
// exposed units (in pop when pop is set) that sent it, in the store's key
// order (so the sums are the same on every call), and how many exposed
// units of each variation did not send it (each counts 0).
func (f *Function) unitValues(r *fnapi.Request, e experiment.Experiment, exposed *exposedSet, metric string, pop map[string]bool) ([][]float64, []int, error) {
	arms := make([][]float64, len(e.Variations))
	zeros := make([]int, len(e.Variations))
	prefix := wire.MetricPrefix(e.Team, metric)
	counted := func(unit string) (int, bool) {
		u, ok := exposed.units[unit]
		if !ok || u.multiple || (pop != nil && !pop[unit]) {
			return 0, false
		}
		return u.variation, true
	}
	seen := map[string]bool{}
	for en, err := range store.Entries(r.Context(), f.opts.Store, prefix, store.ScanOptions{PageTimeout: f.opts.StoreTimeout}) {
		if err != nil {
			return nil, nil, httperr.Unavailable(err, "cannot read the totals of metric %s", metric)
		}
		unit := strings.TrimPrefix(en.Key, prefix)
		v, ok := counted(unit)
		if !ok {
			continue
		}
		var t wire.Totals
		if err := json.Unmarshal(en.Value, &t); err != nil {
			continue
		}
		seen[unit] = true
		arms[v] = append(arms[v], t.Sum)
	}
	for unit := range exposed.units {
		if v, ok := counted(unit); ok && !seen[unit] {
			zeros[v]++
		}
	}
	return arms, zeros, nil
}

// unitSet is the units that sent an event of metric.
func (f *Function) unitSet(r *fnapi.Request, team, metric string) (map[string]bool, error) {
	prefix := wire.MetricPrefix(team, metric)
	out := map[string]bool{}
	for e, err := range store.Entries(r.Context(), f.opts.Store, prefix, store.ScanOptions{PageTimeout: f.opts.StoreTimeout}) {
		if err != nil {
			return nil, httperr.Unavailable(err, "cannot read the units of metric %s", metric)
		}
		out[strings.TrimPrefix(e.Key, prefix)] = true
	}
	return out, nil
}

// metricNames lists the metrics team has totals of.
func (f *Function) metricNames(r *fnapi.Request, team string) ([]string, error) {
	prefix := wire.TotalsPrefix + team + "/"
	var names []string
	after := ""
	for {
		ctx, cancel := f.storeCtx(r)
		page, err := f.opts.Store.List(ctx, prefix, store.ListOptions{After: after, Limit: 1})
		cancel()
		if err != nil {
			return nil, httperr.Unavailable(err, "cannot list metrics")
		}
		if len(page.Entries) == 0 {
			return names, nil
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(page.Entries[0].Key, prefix), "/")
		names = append(names, name)
		after = prefix + name + "/\xff"
	}
}
