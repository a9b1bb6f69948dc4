package engine_test

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/wharfhq/wharf/functions/ab/engine"
)

// evaluate is one experiment's assignment of a unit, as the decision path
// makes it: the hash, the ranges (into a reused buffer) and the choice.
func evaluate(buf [][2]float64, unit string) (int, [][2]float64) {
	n, ok := engine.Hash("checkout-button", unit, 2)
	if !ok {
		return -1, buf
	}
	buf = engine.AppendBucketRanges(buf[:0], 3, 0.8, []float64{0.5, 0.3, 0.2})
	return engine.ChooseVariation(n, buf), buf
}

// benchUnits are 1024 unit ids.
func benchUnits() []string {
	u := make([]string, 1024)
	for i := range u {
		u[i] = "user-" + strconv.Itoa(i*7919)
	}
	return u
}

// BenchmarkEvaluateExperiment: hash + ranges + choose for one experiment.
func BenchmarkEvaluateExperiment(b *testing.B) {
	buf := make([][2]float64, 0, 8)
	units := benchUnits()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_, buf = evaluate(buf, units[i&1023])
		i++
	}
}

// BenchmarkEvaluatePrecomputedRanges: hash + choose, the ranges made when
// the experiment was loaded, plus a namespace check.
func BenchmarkEvaluatePrecomputedRanges(b *testing.B) {
	ranges := engine.BucketRanges(3, 0.8, []float64{0.5, 0.3, 0.2})
	units := benchUnits()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		u := units[i&1023]
		if engine.InNamespace(u, "layer-1", 0, 0.5) {
			n, _ := engine.Hash("checkout-button", u, 2)
			_ = engine.ChooseVariation(n, ranges)
		}
		i++
	}
}

func BenchmarkHashV2NonASCII(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		engine.Hash("expérience-😀", "utilisateur-ünïcödé-42", 2)
	}
}

const typicalCondition = `{"country": {"$in": ["US", "CA", "GB"]}, "age": {"$gte": 18},
	"browser": "chrome", "$or": [{"plan": "pro"}, {"beta": true}], "version": {"$vgte": "2.1.0"}}`

const typicalAttributes = `{"id": "user-42", "country": "CA", "age": 31, "browser": "chrome",
	"plan": "free", "beta": true, "version": "2.3.1"}`

func decodeMap(tb testing.TB, s string) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		tb.Fatal(err)
	}
	return m
}

// BenchmarkEvalCondition: a typical targeting condition that passes.
func BenchmarkEvalCondition(b *testing.B) {
	cond, attrs := decodeMap(b, typicalCondition), decodeMap(b, typicalAttributes)
	if !engine.EvalCondition(attrs, cond, nil) {
		b.Fatal("the typical condition does not pass")
	}
	b.ReportAllocs()
	for b.Loop() {
		engine.EvalCondition(attrs, cond, nil)
	}
}

// BenchmarkEvalConditionRegex: a $regex condition, compiled once.
func BenchmarkEvalConditionRegex(b *testing.B) {
	cond := engine.Compile(decodeMap(b, `{"email": {"$regex": "@example\\.(com|org)$"}, "country": {"$nin": ["FR"]}}`))
	attrs := decodeMap(b, `{"email": "ana@example.org", "country": "CA"}`)
	if !cond.Eval(attrs, nil) {
		b.Fatal("the regex condition does not pass")
	}
	b.ReportAllocs()
	for b.Loop() {
		cond.Eval(attrs, nil)
	}
}

// TestEvaluationAllocs pins the decision path's zero allocations: hash,
// ranges into a reused buffer, choice, namespace, and a typical compiled
// condition. (No t.Parallel: AllocsPerRun panics in parallel tests.)
func TestEvaluationAllocs(t *testing.T) {
	buf := make([][2]float64, 0, 8)
	if a := testing.AllocsPerRun(200, func() { _, buf = evaluate(buf, "user-42") }); a != 0 {
		t.Errorf("one experiment evaluation allocates %v times, want 0", a)
	}
	if a := testing.AllocsPerRun(200, func() { engine.InNamespace("user-42", "ns", 0, 0.5) }); a != 0 {
		t.Errorf("InNamespace allocates %v times, want 0", a)
	}
	if a := testing.AllocsPerRun(200, func() { engine.Hash("😀", "ünïcödé", 2) }); a != 0 {
		t.Errorf("Hash allocates %v times, want 0", a)
	}
	cond, attrs := engine.Compile(decodeMap(t, typicalCondition)), decodeMap(t, typicalAttributes)
	if a := testing.AllocsPerRun(200, func() { cond.Eval(attrs, nil) }); a != 0 {
		t.Errorf("a typical compiled condition allocates %v times, want 0", a)
	}
}
