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
	Exposures     []int64  `json:"exposures"`
	SRM           SRM      `json:"srm"`
	Trim          string   `json:"trim"`
	// Population is the metric whose units are the population (with
	// population=): every unit that sent it counts, 0 for a metric it did
	// not send.
	Population string         `json:"population,omitempty"`
	Metrics    []MetricResult `json:"metrics"`
}

// results answers GET /fn/ab/results/{team}/{key}[?metric=NAME...][&trim=none|iqr|cap:P[:pooled]][&holm=true][&population=METRIC]:
// per metric and variation the statistics of the per-unit totals.
//
// Units are those that sent an event of the metric; each is placed in its
// variation by re-hashing it with the experiment's current definition
// (targeting conditions left out: a unit that sent events was targeted;
// allow-listed units left out: their variation was not drawn).
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
	var layer *experiment.Layer
	if e.Layer != "" {
		var l experiment.Layer
		ctx, cancel := f.storeCtx(r)
		_, err := f.load(ctx, layerKey(e.Team, e.Layer), &l, "layer")
		cancel()
		if err != nil {
			return err
		}
		layer = &l
	}
	plain := e
	plain.Condition = nil
	c := experiment.Compile(plain, layer)
	exposures, err := f.exposures(r, e)
	if err != nil {
		return err
	}
	out := Results{Experiment: e.Key, Team: e.Team, Status: string(e.Status), BucketVersion: e.BucketVersion,
		Exposures: exposures, SRM: checkSRM(exposures, e.Weights()), Trim: trim.String(), Metrics: []MetricResult{}}
	for _, v := range e.Variations {
		out.Variations = append(out.Variations, v.Name)
	}
	var pop map[string]bool
	if population != "" {
		if pop, err = f.unitSet(r, c.Exp.Team, population); err != nil {
			return err
		}
		out.Population = population
	}
	for _, m := range metrics {
		arms, err := f.unitValues(r, c, m, pop)
		if err != nil {
			return err
		}
		out.Metrics = append(out.Metrics, analyze(m, arms, e.Weights(), trim))
	}
	if holm {
		applyHolm(out.Metrics)
	}
	return r.JSON(fasthttp.StatusOK, out)
}

// unitValues are the per-unit totals of metric, by variation of c; with
// a population (units by id), only its units count, those without an
// event of the metric as 0.
func (f *Function) unitValues(r *fnapi.Request, c *experiment.Compiled, metric string, pop map[string]bool) ([][]float64, error) {
	arms := make([][]float64, len(c.Exp.Variations))
	prefix := wire.MetricPrefix(c.Exp.Team, metric)
	attrs := map[string]any{}
	place := func(unit string, v float64) {
		attrs[c.Exp.HashAttribute] = unit
		if c.Exp.FallbackAttribute != "" {
			attrs[c.Exp.FallbackAttribute] = unit
		}
		if a := c.Decide(attrs); a.In() && !a.Forced {
			arms[a.Variation] = append(arms[a.Variation], v)
		}
	}
	seen := map[string]bool{}
	for e, err := range store.Entries(r.Context(), f.opts.Store, prefix, store.ScanOptions{PageTimeout: f.opts.StoreTimeout}) {
		if err != nil {
			return nil, httperr.Unavailable(err, "cannot read the totals of metric %s", metric)
		}
		var t wire.Totals
		if err := json.Unmarshal(e.Value, &t); err != nil {
			continue
		}
		unit := strings.TrimPrefix(e.Key, prefix)
		if pop != nil && !pop[unit] {
			continue
		}
		seen[unit] = true
		place(unit, t.Sum)
	}
	for unit := range pop {
		if !seen[unit] {
			place(unit, 0)
		}
	}
	return arms, nil
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
