package engine_test

import (
	"encoding/json"
	"testing"

	"github.com/wharfhq/wharf/functions/ab/engine"
)

// TestEvalConditionCases runs every evalCondition case of GrowthBook's
// shared SDK tests.
func TestEvalConditionCases(t *testing.T) {
	t.Parallel()
	for _, c := range loadCases(t).EvalCondition {
		var name string
		var cond, attrs map[string]any
		var want bool
		decode(t, c, &name, &cond, &attrs, &want)
		var groups map[string][]any
		if len(c) > 4 {
			decode(t, c[4:], &groups)
		}
		if got := engine.EvalCondition(attrs, cond, groups); got != want {
			t.Errorf("%s: EvalCondition(%s, %s) = %v, want %v", name, c[2], c[1], got, want)
		}
	}
}

// TestEvalConditionCoercions pins JavaScript coercions the shared cases
// do not reach (expected values from the JS SDK's evalCondition).
func TestEvalConditionCoercions(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cond, attrs string
		want        bool
	}{
		{`{"n": "1e+21"}`, `{"n": 1e21}`, true},
		{`{"n": "1e-7"}`, `{"n": 1e-7}`, true},
		{`{"n": "0.000001"}`, `{"n": 1e-6}`, true},
		{`{"n": 5}`, `{"n": " 0x5 "}`, true},
		{`{"n": 0}`, `{"n": ""}`, true},
		{`{"n": 0}`, `{}`, true},
		{`{"n": 3}`, `{"n": [3]}`, true},
		{`{"n": "1,2"}`, `{"n": [1, 2]}`, true},
		{`{"n": "null"}`, `{}`, true},
		{`{"n": {"$regex": "^nul"}}`, `{}`, true},
		{`{"n": {"$lt": "b"}}`, `{"n": "a"}`, true},
		{`{"n": {"$lt": "10"}}`, `{"n": "9"}`, false},
		{`{"n": {"$lt": 10}}`, `{"n": "9"}`, true},
		{`{"n": {"$gt": "\uffff"}}`, `{"n": "😀"}`, false},
		{`{"n": {"$gte": 0}}`, `{"n": null}`, true},
		{`{"n": {"$gte": 0}}`, `{"n": "x"}`, false},
		{`{"tags.length": 2}`, `{"tags": ["a", "b"]}`, true},
		{`{"tags.1": "b"}`, `{"tags": ["a", "b"]}`, true},
		{`{"tags.01": "b"}`, `{"tags": ["a", "b"]}`, false},
		{`{"v": {"$vgt": "1.0.0-beta"}}`, `{"v": "v1.0.0+build"}`, true},
		{`{"x": {"$unknown": 1}}`, `{"x": 1}`, false},
	} {
		var cond, attrs map[string]any
		if err := json.Unmarshal([]byte(tt.cond), &cond); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(tt.attrs), &attrs); err != nil {
			t.Fatal(err)
		}
		if got := engine.EvalCondition(attrs, cond, nil); got != tt.want {
			t.Errorf("EvalCondition(%s, %s) = %v, want %v", tt.attrs, tt.cond, got, tt.want)
		}
	}
}
