package ab_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	growthbook "github.com/growthbook/growthbook-golang"

	"github.com/wharfhq/wharf/functions/ab"
	"github.com/wharfhq/wharf/functions/ab/stats"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestAcceptanceSplitsIndependenceAndRamp: 100,000 units through decide
// (in-process through the Mux, plus 2,000 over HTTP that must agree):
// each layer's experiments split as weighted, two layers are
// independent, and ramping coverage 10 % → 50 % keeps every unit's
// variation.
func TestAcceptanceSplitsIndependenceAndRamp(t *testing.T) {
	const units = 100000
	s := newServer(t, "buntdb")
	s.must(t, 201, "POST", "/fn/ab/layers", "team", `{"name":"page"}`)
	s.must(t, 201, "POST", "/fn/ab/layers", "team", `{"name":"price"}`)
	s.must(t, 201, "POST", "/fn/ab/experiments", "team", `{"key":"a1","layer":"page","range":[0,4000],"variations":[{"weight":0.5},{"weight":0.5}]}`)
	s.must(t, 201, "POST", "/fn/ab/experiments", "team", `{"key":"a2","layer":"page","range":[4000,10000],"variations":[{"weight":0.2,"value":1},{"weight":0.3,"value":2},{"weight":0.5,"value":3}]}`)
	s.must(t, 201, "POST", "/fn/ab/experiments", "team", `{"key":"b1","layer":"price","range":[0,10000],"coverage":0.1,"variations":[{"weight":0.4},{"weight":0.6}]}`)
	for _, k := range []string{"a1", "a2", "b1"} {
		s.must(t, 200, "POST", "/fn/ab/experiments/shop/"+k+"/start", "team", "")
		s.waitRunning(t, k)
	}
	l := s.local("team")
	// cell of layer page: 0,1 = a1 variations, 2,3,4 = a2's; of layer
	// price: 0 out, 1,2 = b1's.
	page := make([]int, units)
	price := make([]int, units)
	b1 := make([]int, units)
	for i := range units {
		d := l.decide(t, "u"+strconv.Itoa(i))
		page[i], price[i], b1[i] = -1, 0, -1
		for _, a := range d.Assignments {
			switch a.Experiment {
			case "a1":
				page[i] = a.Variation
			case "a2":
				page[i] = 2 + a.Variation
			case "b1":
				price[i], b1[i] = 1+a.Variation, a.Variation
			}
		}
		if page[i] < 0 {
			t.Fatalf("unit %d in neither experiment of a full layer: %+v", i, d)
		}
	}
	// Each experiment splits as weighted, and the layer as its ranges.
	count := func(xs []int, n int) []float64 {
		c := make([]float64, n)
		for _, x := range xs {
			if x >= 0 {
				c[x]++
			}
		}
		return c
	}
	pc := count(page, 5)
	inA1, inA2 := pc[0]+pc[1], pc[2]+pc[3]+pc[4]
	bc := count(b1, 2)
	inB := bc[0] + bc[1]
	checks := []struct {
		name            string
		counts, weights []float64
	}{
		{"layer page ranges 40/60", []float64{inA1, inA2}, []float64{0.4, 0.6}},
		{"a1 50/50", pc[0:2], []float64{0.5, 0.5}},
		{"a2 20/30/50", pc[2:5], []float64{0.2, 0.3, 0.5}},
		{"b1 40/60", bc, []float64{0.4, 0.6}},
	}
	for _, c := range checks {
		if r := stats.CheckSRM(c.counts, c.weights); r.PValue < 0.001 {
			t.Errorf("%s: χ² %.2f, p %.2g with counts %v", c.name, r.ChiSquare, r.PValue, c.counts)
		}
	}
	if inB < 0.09*units || inB > 0.11*units {
		t.Errorf("b1 at coverage 0.1: %v units in", inB)
	}
	// Independence of the layers: contingency χ² of page cell × price cell.
	var table [5][3]float64
	for i := range units {
		table[page[i]][price[i]]++
	}
	rows := make([][]float64, 5)
	for r := range rows {
		rows[r] = table[r][:]
	}
	if r := stats.Independence(rows); r.PValue < 0.001 {
		t.Errorf("layers page and price are not independent: χ² %.2f, p %.2g over %v", r.ChiSquare, r.PValue, table)
	}
	// 2,000 of them over HTTP decide the same.
	for i := 0; i < 2000; i++ {
		d := decode[ab.Decision](t, s.must(t, 200, "POST", "/fn/ab/decide", "team", fmt.Sprintf(`{"unit":"u%d"}`, i)))
		for _, a := range d.Assignments {
			if a.Experiment == "b1" && a.Variation != b1[i] {
				t.Fatalf("unit %d: HTTP says b1 variation %d, in-process %d", i, a.Variation, b1[i])
			}
		}
	}
	// Ramp b1 from 10 % to 50 %: nobody changes variation.
	before := l.decide(t, "probe").SetVersion
	res := decode[ab.RampResult](t, s.must(t, 200, "POST", "/fn/ab/experiments/shop/b1/ramp", "team", `{"coverage":0.5}`))
	if res.Change.Moved != 0 {
		t.Fatalf("ramp estimate: %+v", res.Change)
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		if v := l.decide(t, "probe").SetVersion; v == before {
			return fmt.Errorf("the ramp is not live: set version still %s", v)
		}
		return nil
	})
	var inAfter float64
	for i := range units {
		d := l.decide(t, "u"+strconv.Itoa(i))
		v := -1
		for _, a := range d.Assignments {
			if a.Experiment == "b1" {
				v = a.Variation
			}
		}
		if b1[i] >= 0 && v != b1[i] {
			t.Fatalf("unit %d moved from variation %d to %d when coverage went 10%% → 50%%", i, b1[i], v)
		}
		if v >= 0 {
			inAfter++
		}
	}
	if inAfter < 0.48*units || inAfter > 0.52*units {
		t.Errorf("b1 at coverage 0.5: %v units in", inAfter)
	}
}

// TestGrowthBookSDKAgrees: the GrowthBook Go SDK (v0.7.0) fetching
// /api/features/{clientKey} from the gateway assigns every one of 10,000
// ASCII ids the variation Wharf decides, for experiments in layers, with
// coverage, odd weights, hash versions 1 and 2, a bucket version, a
// targeting condition, a holdout and forced ids.
func TestGrowthBookSDKAgrees(t *testing.T) {
	s := newServer(t, "buntdb")
	s.must(t, 201, "POST", "/fn/ab/layers", "team", `{"name":"page"}`)
	s.must(t, 201, "POST", "/fn/ab/experiments", "team", `{"key":"e1","layer":"page","range":[0,3000],"variations":[{"weight":0.5,"value":"a"},{"weight":0.5,"value":"b"}]}`)
	s.must(t, 201, "POST", "/fn/ab/experiments", "team", `{"key":"e2","layer":"page","range":[3000,9999],"coverage":0.7,"hash_version":1,"seed":"s-e2","variations":[{"weight":0.1,"value":{"x":1}},{"weight":0.6,"value":{"x":2}},{"weight":0.3,"value":{"x":3}}]}`)
	s.must(t, 201, "POST", "/fn/ab/experiments", "team", `{"key":"e3","coverage":0.8,"holdout":0.1,"forced":{"u7":1,"u8":0},"condition":{"country":{"$in":["fr","de"]}},"variations":[{"weight":0.34,"value":0},{"weight":0.33,"value":1},{"weight":0.33,"value":2}]}`)
	for _, k := range []string{"e1", "e2", "e3"} {
		s.must(t, 200, "POST", "/fn/ab/experiments/shop/"+k+"/start", "team", "")
	}
	s.must(t, 200, "POST", "/fn/ab/experiments/shop/e1/reassign", "team", "")
	for _, k := range []string{"e1", "e2", "e3"} {
		s.waitRunning(t, k)
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		d := decode[ab.Decision](t, s.must(t, 200, "GET", "/fn/ab/decide/e1?unit=x", "team", ""))
		if d.Assignments[0].BucketVersion != 1 {
			return fmt.Errorf("bucket version not live")
		}
		return nil
	})
	key := decode[ab.SDKKey](t, s.must(t, 201, "POST", "/fn/ab/sdk-keys", "team", "")).ClientKey
	testenv.Eventually(t, 5*time.Second, func() error {
		if r := s.do(t, "GET", "/api/features/"+key, "", ""); r.Status != 200 {
			return fmt.Errorf("features: %s", r)
		}
		return nil
	})
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	base, err := growthbook.NewClient(ctx, growthbook.WithApiHost("http://"+s.addr), growthbook.WithClientKey(key), growthbook.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	if err := base.RefreshFeatures(ctx); err != nil {
		t.Fatalf("the SDK cannot read the payload: %v", err)
	}
	if len(base.Features()) != 3 {
		t.Fatalf("features: %v", base.Features())
	}
	l := s.local("team")
	in := map[string]int{}
	countries := []string{"fr", "de", "us"}
	for i := range 10000 {
		id := "u" + strconv.Itoa(i)
		country := countries[i%3]
		st, b := l.do("POST", "/fn/ab/decide", fmt.Sprintf(`{"unit":%q,"attributes":{"country":%q}}`, id, country))
		if st != 200 {
			t.Fatalf("decide: %d %s", st, b)
		}
		var d ab.Decision
		_ = jsonUnmarshal(b, &d)
		want := map[string]ab.Assignment{}
		for _, a := range d.Assignments {
			want[a.Experiment] = a
		}
		c, err := growthbook.NewClient(ctx, growthbook.WithFeatures(base.Features()), growthbook.WithAttributes(growthbook.Attributes{"id": id, "country": country}), growthbook.WithLogger(quiet))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"e1", "e2", "e3"} {
			res := c.EvalFeature(ctx, k)
			w, ok := want[k]
			switch {
			case ok && w.Holdout:
				if res.Source != growthbook.ForceResultSource || fmt.Sprint(res.Value) != "0" {
					t.Fatalf("%s %s: Wharf holds the unit out, the SDK: %+v", id, k, res)
				}
			case ok && w.Forced:
				if res.Source != growthbook.ForceResultSource || fmt.Sprint(res.Value) != fmt.Sprint(w.Variation) {
					t.Fatalf("%s %s: Wharf forces %d, the SDK: %+v", id, k, w.Variation, res)
				}
			case ok:
				if res.ExperimentResult == nil || !res.ExperimentResult.InExperiment || res.ExperimentResult.VariationId != w.Variation {
					t.Fatalf("%s %s: Wharf says variation %d, the SDK %+v", id, k, w.Variation, res.ExperimentResult)
				}
				in[k]++
			default:
				if res.Source != growthbook.DefaultValueResultSource {
					t.Fatalf("%s %s: Wharf says not in the experiment, the SDK: %+v %+v", id, k, res, res.ExperimentResult)
				}
			}
		}
	}
	for _, k := range []string{"e1", "e2", "e3"} {
		if in[k] < 1000 {
			t.Errorf("%s: only %d of 10,000 units in: the comparison is too thin", k, in[k])
		}
	}
}
