package experiment_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/ab/experiment"
)

func exp(key string, weights ...float64) experiment.Experiment {
	e := experiment.Experiment{Key: key, Team: "shop", Coverage: 1, Status: experiment.Running}
	for i, w := range weights {
		e.Variations = append(e.Variations, experiment.Variation{Name: "v" + strconv.Itoa(i), Weight: w, Value: json.RawMessage(strconv.Itoa(i))})
	}
	e.Normalize()
	return e
}

func TestValidateNamesEveryBadField(t *testing.T) {
	t.Parallel()
	e := experiment.Experiment{Key: "Bad Key", Team: "", Seed: "s", HashVersion: 3, Coverage: 1.5, Holdout: 0.9, Status: "paused",
		Range: [2]int{5, 5}, Variations: []experiment.Variation{{Weight: 0.7, Value: json.RawMessage("{")}, {Weight: 0.7}},
		Forced: map[string]int{"u1": 7}}
	got := e.Validate()
	for _, f := range []string{"key", "team", "range", "hash_version", "coverage", "holdout", "status", "variations[0].value", "variations", "forced.u1"} {
		found := false
		for _, fe := range got {
			found = found || fe.Field == f
		}
		if !found {
			t.Errorf("no error for %s in %v", f, got)
		}
	}
	if errs := exp("ok", 0.5, 0.5).Validate(); len(errs) != 0 {
		t.Fatalf("valid experiment: %v", errs)
	}
	l := experiment.Layer{Name: "checkout", Team: "shop"}
	l.Normalize()
	if l.Salt != "shop/checkout" || len(l.Validate()) != 0 {
		t.Fatalf("layer: %+v %v", l, l.Validate())
	}
}

// TestRampingCoverageKeepsEveryUnitsVariation: coverage 10 % → 50 % →
// 100 % only adds units; none of 100,000 changes variation.
func TestRampingCoverageKeepsEveryUnitsVariation(t *testing.T) {
	t.Parallel()
	layer := &experiment.Layer{Name: "l", Team: "shop", Salt: "shop/l"}
	var prev []int
	for _, cov := range []float64{0.1, 0.5, 1} {
		e := exp("ramp", 0.2, 0.3, 0.5)
		e.Layer, e.Range, e.Coverage = "l", [2]int{0, 6000}, cov
		c := experiment.Compile(e, layer)
		cur := make([]int, 100000)
		in := 0
		for i := range cur {
			cur[i] = c.Decide(map[string]any{"id": "user-" + strconv.Itoa(i)}).Variation
			if prev != nil && prev[i] >= 0 && cur[i] != prev[i] {
				t.Fatalf("coverage %v moved unit %d from %d to %d", cov, i, prev[i], cur[i])
			}
			if cur[i] >= 0 {
				in++
			}
		}
		if want := 100000 * 0.6 * cov; float64(in) < want*0.97 || float64(in) > want*1.03 {
			t.Errorf("coverage %v: %d units in, want about %v", cov, in, want)
		}
		prev = cur
	}
}

func TestEstimate(t *testing.T) {
	t.Parallel()
	a := exp("x", 0.5, 0.5)
	a.Coverage = 0.1
	b := a
	b.Coverage = 0.5
	if c := experiment.Estimate(a, nil, b, nil); c.Moved != 0 || c.Leaving != 0 || c.Entering < 0.35 || c.Entering > 0.45 {
		t.Fatalf("coverage ramp: %+v", c)
	}
	full := exp("x", 0.5, 0.5)
	w := full
	w.Variations = []experiment.Variation{{Weight: 0.2}, {Weight: 0.8}}
	if c := experiment.Estimate(full, nil, w, nil); c.Moved < 0.28 || c.Moved > 0.32 || c.Entering != 0 || c.Leaving != 0 {
		t.Fatalf("weights 50/50 → 20/80 at full coverage should move ~30%%: %+v", c)
	}
	r := full
	r.BucketVersion = 1
	if c := experiment.Estimate(full, nil, r, nil); c.Moved < 0.45 || c.Moved > 0.55 {
		t.Fatalf("a new bucket version reassigns: %+v", c)
	}
}

func TestDecideReasons(t *testing.T) {
	t.Parallel()
	layer := &experiment.Layer{Name: "l", Team: "shop", Salt: "shop/l"}
	e := exp("r", 0.5, 0.5)
	e.Layer, e.Range = "l", [2]int{0, 5000}
	e.Forced = map[string]int{"vip": 1}
	e.Condition = map[string]any{"country": "fr"}
	c := experiment.Compile(e, layer)
	if a := c.Decide(map[string]any{"id": "vip"}); a.Variation != 1 || !a.Forced {
		t.Fatalf("forced: %+v", a)
	}
	if a := c.Decide(map[string]any{"country": "fr"}); a.Reason != experiment.ReasonNoAttribute {
		t.Fatalf("no id: %+v", a)
	}
	reasons := map[string]int{}
	for i := range 2000 {
		a := c.Decide(map[string]any{"id": strconv.Itoa(i), "country": "fr"})
		reasons[a.Reason]++
		if (a.Bucket < 5000) != (a.Reason != experiment.ReasonLayer) {
			t.Fatalf("bucket %d with reason %s", a.Bucket, a.Reason)
		}
		if b := c.Decide(map[string]any{"id": strconv.Itoa(i), "country": "de"}); b.In() && a.Bucket < 5000 {
			t.Fatalf("condition ignored: %+v", b)
		}
	}
	if reasons[experiment.ReasonIn] < 900 || reasons[experiment.ReasonLayer] < 900 {
		t.Fatalf("reasons: %v", reasons)
	}
}

func TestSnapshotVersionAndOverlaps(t *testing.T) {
	t.Parallel()
	a, b := exp("a", 0.5, 0.5), exp("b", 0.5, 0.5)
	a.Layer, a.Range, b.Layer, b.Range = "l", [2]int{0, 5000}, "l", [2]int{4000, 6000}
	if k := experiment.Overlaps(b, []experiment.Experiment{a}); k != "a" {
		t.Fatalf("overlap: %q", k)
	}
	b.Range = [2]int{5000, 6000}
	if k := experiment.Overlaps(b, []experiment.Experiment{a}); k != "" {
		t.Fatalf("no overlap: %q", k)
	}
	l := experiment.Layer{Name: "l", Team: "shop", Salt: "s"}
	s1 := experiment.NewSnapshot([]experiment.Layer{l}, []experiment.Experiment{a, b})
	s2 := experiment.NewSnapshot([]experiment.Layer{l}, []experiment.Experiment{b, a})
	if s1.Version != s2.Version || len(s1.All) != 2 || s1.Find("shop", "b") == nil {
		t.Fatalf("snapshots: %s %s %d", s1.Version, s2.Version, len(s1.All))
	}
	b.Revision++
	if s3 := experiment.NewSnapshot([]experiment.Layer{l}, []experiment.Experiment{a, b}); s3.Version == s1.Version {
		t.Fatal("a change kept the version")
	}
	b.Revision--
	b.CreatedAt = b.CreatedAt.Add(time.Second) // deleted and created again
	if s4 := experiment.NewSnapshot([]experiment.Layer{l}, []experiment.Experiment{a, b}); s4.Version == s1.Version {
		t.Fatal("an experiment created again at the same revision kept the version")
	}
	if !strings.Contains(experiment.ReasonIn, "in") {
		t.Fatal()
	}
}

// TestDecideAtRemembersLayerPositions: deciding many experiments of
// several layers with one Positions gives every experiment the decision
// it gets alone, including past the 8 layers it holds.
func TestDecideAtRemembersLayerPositions(t *testing.T) {
	t.Parallel()
	var cs []*experiment.Compiled
	for l := range 10 {
		layer := &experiment.Layer{Name: "l" + strconv.Itoa(l), Team: "shop", Salt: "salt" + strconv.Itoa(l)}
		for k := range 3 {
			e := exp("e"+strconv.Itoa(l)+strconv.Itoa(k), 0.3, 0.7)
			e.Layer, e.Range = layer.Name, [2]int{k * 3000, (k + 1) * 3000}
			cs = append(cs, experiment.Compile(e, layer))
		}
	}
	for i := range 2000 {
		attrs := map[string]any{"id": "u" + strconv.Itoa(i)}
		var pos experiment.Positions
		for _, c := range cs {
			if got, want := c.DecideAt(attrs, &pos), c.Decide(attrs); got != want {
				t.Fatalf("unit %d, %s: %+v with positions, %+v alone", i, c.Exp.Key, got, want)
			}
		}
	}
}

// TestHashValueOfNumbersIsJavaScripts: a numeric hash attribute is hashed
// as JavaScript's String(n) spells it, as GrowthBook's JS SDK does.
func TestHashValueOfNumbersIsJavaScripts(t *testing.T) {
	t.Parallel()
	for f, want := range map[float64]string{42: "42", -1.5: "-1.5", 1e21: "1e+21", 1.5e-7: "1.5e-7", 0.000001: "0.000001", 123456789012: "123456789012", 0: ""} {
		if got := experiment.HashValue(map[string]any{"id": f}, "id"); got != want {
			t.Errorf("%v: %q, want %q", f, got, want)
		}
	}
}
