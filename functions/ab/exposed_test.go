package ab_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/ab"
	"github.com/wharfhq/wharf/functions/ab/stats"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/runner/abagg"
)

// startAggregator runs the real aggregator of tracked events on s's nsqd
// and store.
func startAggregator(t *testing.T, s *server) {
	t.Helper()
	a, err := abagg.New(abagg.Options{Store: s.st, NSQDAddrs: []string{s.nsqd.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("aggregator: %v", err)
		}
	})
}

// exposedView is the part of the results about exposed units.
type exposedView struct {
	ExposedUnits      []int64 `json:"exposed_units"`
	MultipleExposures int     `json:"multiple_exposures"`
}

func close9(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

// TestResultsCountExposedUnits is the acceptance test of exposure-based
// results: units whose targeting condition is false and a forced unit
// send events and are not counted; exposed units without events count as
// 0; every statistic equals the stats package's on the same per-unit
// numbers; SRM is on the exposed units; units an edit moved to another
// variation are reported as multiple exposures and left out.
func TestResultsCountExposedUnits(t *testing.T) {
	for _, engine := range []string{"buntdb", "redis"} {
		t.Run(engine, func(t *testing.T) { resultsCountExposedUnits(t, engine) })
	}
}

func resultsCountExposedUnits(t *testing.T, engine string) {
	s := newServer(t, engine)
	startAggregator(t, s)
	s.must(t, 201, "POST", "/fn/ab/experiments", "team", `{"key":"price","condition":{"country":"fr"},"forced":{"vip":1},
		"variations":[{"name":"control","weight":0.5},{"name":"cheaper","weight":0.5}]}`)
	s.must(t, 200, "POST", "/fn/ab/experiments/shop/price/start", "team", "")
	s.waitRunning(t, "price")
	l := s.local("team")
	decide := func(unit, country string) int {
		st, b := l.do("POST", "/fn/ab/decide", fmt.Sprintf(`{"unit":%q,"attributes":{"country":%q}}`, unit, country))
		if st != 200 {
			t.Fatalf("decide %s: %d %s", unit, st, b)
		}
		var d ab.Decision
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		if len(d.Assignments) == 0 {
			return -1
		}
		return d.Assignments[0].Variation
	}
	// 300 units in France are in the experiment; 100 in Germany are not
	// (condition false); vip is forced.
	variation := map[string]int{}
	for i := range 300 {
		u := fmt.Sprintf("fr-%d", i)
		variation[u] = decide(u, "fr")
		if variation[u] < 0 {
			t.Fatalf("%s is not in the experiment", u)
		}
	}
	for i := range 100 {
		if v := decide(fmt.Sprintf("de-%d", i), "de"); v >= 0 {
			t.Fatalf("de-%d is in the experiment: %d", i, v)
		}
	}
	if v := decide("vip", "fr"); v != 1 {
		t.Fatalf("vip: %d", v)
	}
	// Events: a third of the French units spend, every German unit and
	// vip spend a lot; a sixth of the French units convert.
	var evs []string
	want := map[string]float64{}
	for i := range 300 {
		u := fmt.Sprintf("fr-%d", i)
		if i%3 == 0 {
			v := float64(i%7) + 1
			want[u] = v
			evs = append(evs, fmt.Sprintf(`{"unit":%q,"metric":"revenue","value":%g}`, u, v))
		}
		if i%6 == 0 {
			evs = append(evs, fmt.Sprintf(`{"unit":%q,"metric":"converted","value":1}`, u))
		}
	}
	for i := range 100 {
		evs = append(evs, fmt.Sprintf(`{"unit":"de-%d","metric":"revenue","value":1000}`, i), fmt.Sprintf(`{"unit":"de-%d","metric":"converted","value":1}`, i))
	}
	evs = append(evs, `{"unit":"vip","metric":"revenue","value":5000}`)
	body := "["
	for i, e := range evs {
		if i > 0 {
			body += ","
		}
		body += e
	}
	s.must(t, 202, "POST", "/fn/ab/track", "team", body+"]")

	// The expected arms: every French unit, its revenue or 0.
	arms := [][]float64{{}, {}}
	conv := [][]float64{{}, {}}
	counts := []float64{0, 0}
	for i := range 300 {
		u := fmt.Sprintf("fr-%d", i)
		v := variation[u]
		arms[v] = append(arms[v], want[u])
		c := 0.0
		if i%6 == 0 {
			c = 1
		}
		conv[v] = append(conv[v], c)
		counts[v]++
	}
	var res ab.Results
	var ev exposedView
	testenv.Eventually(t, 10*time.Second, func() error {
		r := s.must(t, 200, "GET", "/fn/ab/results/shop/price?metric=revenue&metric=converted", "team", "")
		res, ev = decode[ab.Results](t, r), decode[exposedView](t, r)
		if len(res.Metrics) != 2 {
			return fmt.Errorf("metrics: %+v", res.Metrics)
		}
		// Every event is aggregated once the German units' and vip's
		// totals would show, whatever the population.
		n := 0
		for _, v := range res.Metrics[0].Variations {
			n += v.Units
		}
		if n != 300 || res.Metrics[0].Variations[0].Mean*float64(res.Metrics[0].Variations[0].Units)+res.Metrics[0].Variations[1].Mean*float64(res.Metrics[0].Variations[1].Units) < 1 {
			return fmt.Errorf("revenue units %d, want the 300 exposed: %+v", n, res.Metrics[0].Variations)
		}
		for _, v := range res.Metrics[1].Variations {
			n -= v.Units
		}
		if n != 0 {
			return fmt.Errorf("converted: %+v", res.Metrics[1].Variations)
		}
		return nil
	})
	// Wait until every revenue event is in: the sums match.
	testenv.Eventually(t, 10*time.Second, func() error {
		r := s.must(t, 200, "GET", "/fn/ab/results/shop/price?metric=revenue&metric=converted", "team", "")
		res, ev = decode[ab.Results](t, r), decode[exposedView](t, r)
		for i, a := range arms {
			if w := stats.Summarize(a); !close9(res.Metrics[0].Variations[i].Mean, w.Mean) {
				return fmt.Errorf("revenue mean of %d: %v, want %v", i, res.Metrics[0].Variations[i].Mean, w.Mean)
			}
		}
		c := res.Metrics[1].Variations
		if n := c[0].Mean*float64(c[0].Units) + c[1].Mean*float64(c[1].Units); math.Round(n) != 50 {
			return fmt.Errorf("conversions: %v, want 50", n)
		}
		return nil
	})
	if len(ev.ExposedUnits) != 2 || float64(ev.ExposedUnits[0]) != counts[0] || float64(ev.ExposedUnits[1]) != counts[1] || ev.MultipleExposures != 0 {
		t.Fatalf("exposed units %+v, want %v", ev, counts)
	}
	srm := stats.CheckSRM(counts, []float64{0.5, 0.5})
	if res.SRM.Exposures != 300 || !close9(res.SRM.ChiSquare, srm.ChiSquare) || !close9(res.SRM.P, srm.PValue) {
		t.Fatalf("SRM %+v, want the exposed units' %+v", res.SRM, srm)
	}
	rev := res.Metrics[0]
	if rev.Kind != "mean" {
		t.Fatalf("revenue kind %q", rev.Kind)
	}
	sc, st := stats.Summarize(arms[0]), stats.Summarize(arms[1])
	for i, w := range []stats.Summary{sc, st} {
		g := rev.Variations[i].Summary
		if g.Units != w.Units || !close9(g.Mean, w.Mean) || !close9(g.Variance, w.Variance) {
			t.Fatalf("revenue %d: %+v, want %+v", i, g, w)
		}
	}
	wc, err := stats.Welch(sc, st, ab.Alpha)
	if err != nil {
		t.Fatal(err)
	}
	gc := rev.Variations[1].Comparison
	if gc == nil || !close9(gc.T, wc.T) || !close9(gc.DF, wc.DF) || !close9(gc.PValue, wc.PValue) || !close9(gc.Diff, wc.Diff) {
		t.Fatalf("revenue comparison %+v, want %+v", gc, wc)
	}
	cv := res.Metrics[1]
	if cv.Kind != "proportion" {
		t.Fatalf("converted kind %q: the exposed units without a conversion count as 0", cv.Kind)
	}
	ones := func(a []float64) int {
		n := 0
		for _, x := range a {
			n += int(x)
		}
		return n
	}
	wp, err := stats.TwoProportions(ones(conv[0]), len(conv[0]), ones(conv[1]), len(conv[1]), ab.Alpha)
	if err != nil {
		t.Fatal(err)
	}
	if gp := cv.Variations[1].Proportion; gp == nil || !close9(gp.PValue, wp.PValue) || cv.Variations[0].Units != len(conv[0]) {
		t.Fatalf("converted %+v, want %+v", cv.Variations, wp)
	}

	// population=converted: only the exposed units that converted.
	pr := decode[ab.Results](t, s.must(t, 200, "GET", "/fn/ab/results/shop/price?metric=revenue&population=converted", "team", ""))
	if n := pr.Metrics[0].Variations[0].Units + pr.Metrics[0].Variations[1].Units; n != 50 {
		t.Fatalf("population=converted: %d units, want the 50 exposed converters", n)
	}

	// An edit that moves units: the moved ones, decided again, were
	// exposed to two variations: reported and left out.
	s.must(t, 200, "POST", "/fn/ab/experiments/shop/price/ramp", "team", `{"weights":[0.1,0.9],"confirm_reassign":true}`)
	testenv.Eventually(t, 5*time.Second, func() error {
		moved := 0
		for i := range 300 {
			u := fmt.Sprintf("fr-%d", i)
			if decide(u, "fr") != variation[u] {
				moved++
			}
		}
		if moved == 0 {
			return fmt.Errorf("the ramp is not live yet")
		}
		ev := decode[exposedView](t, s.must(t, 200, "GET", "/fn/ab/results/shop/price?metric=revenue", "team", ""))
		if ev.MultipleExposures != moved || ev.ExposedUnits[0]+ev.ExposedUnits[1] != int64(300-moved) {
			return fmt.Errorf("moved %d: %+v", moved, ev)
		}
		return nil
	})
}

// TestExposureLogBudgetAndDedupe: a node records a unit's exposure once
// (repeated decisions store nothing more), records at most MaxNewExposures
// new units per flush interval, and records the others at a decision of
// a later interval.
func TestExposureLogBudgetAndDedupe(t *testing.T) {
	s := newServer(t, "buntdb", func(o *ab.Options) { o.MaxNewExposures, o.FlushInterval = 10, time.Hour })
	s.running(t, "", "button", 0, 0)
	ctx := context.Background()
	s.fn.Flush(ctx) // the probe of running() spent one of the budget
	l := s.local("team")
	units := s.distinctUnits(30, 2)
	decideAll := func() {
		for _, u := range units {
			l.decide(t, u)
		}
	}
	exposed := func() int64 {
		ev := decode[exposedView](t, s.must(t, 200, "GET", "/fn/ab/results/shop/button", "team", ""))
		return ev.ExposedUnits[0] + ev.ExposedUnits[1]
	}
	stored := func() int {
		n, keys := 0, 0
		defer func() {
			if keys > 1 {
				t.Errorf("%d keys: a node's batch of an experiment is rewritten until it is full", keys)
			}
		}()
		for e, err := range store.Entries(ctx, s.st, "ab/exposed/", store.ScanOptions{}) {
			keys++
			if err != nil {
				t.Fatal(err)
			}
			var b struct{ Units []string }
			if err := json.Unmarshal(e.Value, &b); err != nil {
				t.Fatal(err)
			}
			n += len(b.Units)
		}
		return n
	}
	for round, want := range []int64{11, 21, 31} { // probe + 10 per interval
		decideAll()
		decideAll()
		if got := exposed(); got != want {
			t.Fatalf("round %d: %d exposed units, want %d", round, got, want)
		}
		s.fn.Flush(ctx)
		if got := stored(); int64(got) != want {
			t.Fatalf("round %d: %d units stored, want %d (each once)", round, got, want)
		}
	}
	decideAll()
	s.fn.Flush(ctx)
	if got := stored(); got != 31 {
		t.Fatalf("decided again: %d units stored, want 31", got)
	}
}

// TestTrimLeavesUnitsWithoutEventsAlone: with most exposed units sending
// no event of a metric (0 each), the boxplot rule's bounds come from the
// units that sent it: the one outlier is trimmed, the other buyers stay,
// and the units without events are never trimmed.
func TestTrimLeavesUnitsWithoutEventsAlone(t *testing.T) {
	s := newServer(t, "buntdb")
	startAggregator(t, s)
	s.running(t, "", "button", 0, 0)
	l := s.local("team")
	var evs []string
	for i := range 400 {
		u := fmt.Sprintf("u%d", i)
		l.decide(t, u)
		switch {
		case i == 7:
			evs = append(evs, fmt.Sprintf(`{"unit":%q,"metric":"revenue","value":100000}`, u))
		case i%10 == 0:
			evs = append(evs, fmt.Sprintf(`{"unit":%q,"metric":"revenue","value":%d}`, u, 10+i%7))
		}
	}
	s.must(t, 202, "POST", "/fn/ab/track", "team", "["+strings.Join(evs, ",")+"]")
	testenv.Eventually(t, 10*time.Second, func() error {
		r := s.must(t, 200, "GET", "/fn/ab/results/shop/button?metric=revenue&trim=iqr", "team", "")
		res, ev := decode[ab.Results](t, r), decode[exposedView](t, r)
		if len(res.Metrics) != 1 {
			return fmt.Errorf("no revenue yet: %+v", res)
		}
		v := res.Metrics[0].Variations
		exposed := ev.ExposedUnits[0] + ev.ExposedUnits[1]
		if v[0].Trimmed+v[1].Trimmed != 1 || int64(v[0].Units+v[1].Units) != exposed-1 || exposed != 401 {
			return fmt.Errorf("trimmed %d+%d units of %d exposed, want the outlier only: %+v", v[0].Trimmed, v[1].Trimmed, exposed, v)
		}
		sum := v[0].Mean*float64(v[0].Units) + v[1].Mean*float64(v[1].Units)
		if math.Abs(sum-buyersSum()) > 1e-6 {
			return fmt.Errorf("revenue of the kept units %v, want %v (every buyer but the outlier)", sum, buyersSum())
		}
		return nil
	})
}

func buyersSum() float64 {
	s := 0.0
	for i := 0; i < 400; i += 10 {
		s += float64(10 + i%7)
	}
	return s
}

// TestReportedExposuresCount: units a GrowthBook SDK decided, reported on
// POST /fn/ab/exposures (as its trackingCallback sees them), are the
// population of results like decided ones; bad reports are 400 naming
// each field and record nothing.
func TestReportedExposuresCount(t *testing.T) {
	s := newServer(t, "buntdb")
	startAggregator(t, s)
	s.running(t, "", "button", 0, 0)
	r := s.must(t, 400, "POST", "/fn/ab/exposures", "team", `[{"experiment":"button","unit":"a","variation":2},{"experiment":"button","unit":"","variation":0},{"experiment":"button","unit":"b","variation":1,"bucket_version":3},{"experiment":"button","unit":"c"}]`)
	for _, f := range []string{"[0].variation", "[1].unit", "[2].bucket_version", "[3].variation"} {
		if !strings.Contains(string(r.Body), `"field":"`+f+`"`) {
			t.Errorf("%s not named: %s", f, r.Body)
		}
	}
	var reps, evs []string
	for i := range 100 {
		reps = append(reps, fmt.Sprintf(`{"experiment":"button","unit":"sdk-%d","variation":%d,"bucket_version":0}`, i, i%2))
		if i%4 == 0 {
			evs = append(evs, fmt.Sprintf(`{"unit":"sdk-%d","metric":"converted","value":1}`, i))
		}
	}
	if got := decode[ab.ExposuresResult](t, s.must(t, 202, "POST", "/fn/ab/exposures", "team", "["+strings.Join(reps, ",")+"]")); got.Accepted != 100 {
		t.Fatalf("accepted %d", got.Accepted)
	}
	s.must(t, 202, "POST", "/fn/ab/track", "team", "["+strings.Join(evs, ",")+"]")
	testenv.Eventually(t, 10*time.Second, func() error {
		r := s.must(t, 200, "GET", "/fn/ab/results/shop/button?metric=converted", "team", "")
		res, ev := decode[ab.Results](t, r), decode[exposedView](t, r)
		if ev.ExposedUnits[0] != 51 || ev.ExposedUnits[1] != 50 { // and the probe, decided
			return fmt.Errorf("exposed units %v, want the 100 reported and the probe", ev.ExposedUnits)
		}
		v := res.Metrics[0].Variations
		if res.Metrics[0].Kind != "proportion" || v[0].Mean*float64(v[0].Units)+v[1].Mean*float64(v[1].Units) != 25 {
			return fmt.Errorf("conversions not in yet: %+v", res.Metrics[0])
		}
		return nil
	})
}

// TestExposedBatchesRollOver: a few new units go to the node's open batch
// of an experiment (rewritten, one key) until it holds OpenBatchMax; more
// go to new batches of up to ExposedBatch; results read them all.
func TestExposedBatchesRollOver(t *testing.T) {
	s := newServer(t, "buntdb", func(o *ab.Options) { o.FlushInterval = time.Hour })
	s.running(t, "", "button", 0, 0) // the probe: one unit
	ctx := context.Background()
	l := s.local("team")
	next := 0
	decide := func(n int) {
		for range n {
			l.decide(t, "u"+strconv.Itoa(next))
			next++
		}
		s.fn.Flush(ctx)
	}
	decide(25)
	decide(25)
	decide(ab.ExposedBatch + 50)
	decide(10)
	var sizes []int
	for e, err := range store.Entries(ctx, s.st, "ab/exposed/", store.ScanOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		var b struct{ Units []string }
		if err := json.Unmarshal(e.Value, &b); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(b.Units))
	}
	if want := []int{51, ab.ExposedBatch, 60}; fmt.Sprint(sizes) != fmt.Sprint(want) {
		t.Fatalf("batches of %v units, want %v", sizes, want)
	}
	ev := decode[exposedView](t, s.must(t, 200, "GET", "/fn/ab/results/shop/button", "team", ""))
	if got := ev.ExposedUnits[0] + ev.ExposedUnits[1]; got != int64(next+1) {
		t.Fatalf("exposed units %v, want %d", ev.ExposedUnits, next+1)
	}
}

// TestDeleteDropsExposedUnits: deleting an experiment deletes its
// exposed units (every bucket version), not another experiment's.
func TestDeleteDropsExposedUnits(t *testing.T) {
	s := newServer(t, "buntdb")
	s.running(t, "", "button", 0, 0)
	s.running(t, "", "banner", 0, 0)
	l := s.local("team")
	for i := range 20 {
		l.decide(t, "u"+strconv.Itoa(i))
	}
	s.must(t, 200, "POST", "/fn/ab/experiments/shop/button/reassign", "team", "")
	ctx := context.Background()
	keys := func() map[string]int {
		out := map[string]int{}
		for e, err := range store.Entries(ctx, s.st, "ab/exposed/", store.ScanOptions{}) {
			if err != nil {
				t.Fatal(err)
			}
			out[strings.Split(strings.TrimPrefix(e.Key, "ab/exposed/shop/"), "/")[0]]++
		}
		return out
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		l.decide(t, "after-reassign")
		s.fn.Flush(ctx)
		if k := keys(); k["button"] < 2 || k["banner"] < 1 {
			return fmt.Errorf("exposed keys %v, want button's two bucket versions and banner's", k)
		}
		return nil
	})
	s.must(t, 200, "POST", "/fn/ab/experiments/shop/button/stop", "team", "")
	s.fn.Flush(ctx)
	s.must(t, 204, "DELETE", "/fn/ab/experiments/shop/button", "team", "")
	if k := keys(); k["button"] != 0 || k["banner"] < 1 {
		t.Fatalf("exposed keys after the delete: %v", k)
	}
}
