package engine_test

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/wharfhq/wharf/functions/ab/engine"
)

// cases is GrowthBook's shared SDK test file (testdata/README.md).
type cases struct {
	Hash            [][]json.RawMessage `json:"hash"`
	GetBucketRange  [][]json.RawMessage `json:"getBucketRange"`
	ChooseVariation [][]json.RawMessage `json:"chooseVariation"`
	InNamespace     [][]json.RawMessage `json:"inNamespace"`
	GetEqualWeights [][]json.RawMessage `json:"getEqualWeights"`
	EvalCondition   [][]json.RawMessage `json:"evalCondition"`
}

func loadCases(t *testing.T) cases {
	t.Helper()
	b, err := os.ReadFile("testdata/growthbook-cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var c cases
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("cannot parse cases.json: %v", err)
	}
	if len(c.Hash) == 0 || len(c.GetBucketRange) == 0 || len(c.EvalCondition) == 0 {
		t.Fatal("cases.json lacks a section")
	}
	return c
}

// decode unmarshals each raw element into the matching pointer.
func decode(t *testing.T, raw []json.RawMessage, into ...any) {
	t.Helper()
	if len(raw) < len(into) {
		t.Fatalf("case %s has %d fields, want %d", raw, len(raw), len(into))
	}
	for i, p := range into {
		if err := json.Unmarshal(raw[i], p); err != nil {
			t.Fatalf("case field %d (%s): %v", i, raw[i], err)
		}
	}
}

func TestHashCases(t *testing.T) {
	t.Parallel()
	for _, c := range loadCases(t).Hash {
		var seed, value string
		var version int
		var want *float64
		decode(t, c, &seed, &value, &version, &want)
		got, ok := engine.Hash(seed, value, version)
		switch {
		case want == nil && ok:
			t.Errorf("Hash(%q, %q, %d) = %v, want no hash", seed, value, version, got)
		case want != nil && (!ok || got != *want):
			t.Errorf("Hash(%q, %q, %d) = %v, %v, want %v", seed, value, version, got, ok, *want)
		}
	}
}

func TestBucketRangesCases(t *testing.T) {
	t.Parallel()
	for _, c := range loadCases(t).GetBucketRange {
		var name string
		var args []json.RawMessage
		var want [][2]float64
		decode(t, c, &name, &args, &want)
		var n int
		var coverage float64
		var weights []float64
		decode(t, args, &n, &coverage, &weights)
		got := engine.BucketRanges(n, coverage, weights)
		// cases.json rounds to a few decimals; the node test compares exactly.
		if !closeRanges(got, want) {
			t.Errorf("%s: BucketRanges(%d, %v, %v) = %v, want %v", name, n, coverage, weights, got, want)
		}
	}
}

func TestEqualWeightsCases(t *testing.T) {
	t.Parallel()
	for _, c := range loadCases(t).GetEqualWeights {
		var n int
		var want []float64
		decode(t, c, &n, &want)
		got := engine.BucketRanges(n, 1, nil)
		if len(got) != len(want) {
			t.Fatalf("BucketRanges(%d, 1, nil) = %v, want %d ranges", n, got, len(want))
		}
		for i, r := range got {
			if w := r[1] - r[0]; math.Abs(w-want[i]) > 1e-8 {
				t.Errorf("BucketRanges(%d, 1, nil)[%d] spans %v, want %v", n, i, w, want[i])
			}
		}
	}
}

func TestChooseVariationCases(t *testing.T) {
	t.Parallel()
	for _, c := range loadCases(t).ChooseVariation {
		var name string
		var n float64
		var ranges [][2]float64
		var want int
		decode(t, c, &name, &n, &ranges, &want)
		if got := engine.ChooseVariation(n, ranges); got != want {
			t.Errorf("%s: ChooseVariation(%v, %v) = %d, want %d", name, n, ranges, got, want)
		}
	}
}

func TestInNamespaceCases(t *testing.T) {
	t.Parallel()
	for _, c := range loadCases(t).InNamespace {
		var name, id string
		var ns []json.RawMessage
		var want bool
		decode(t, c, &name, &id, &ns, &want)
		var nsID string
		var start, end float64
		decode(t, ns, &nsID, &start, &end)
		if got := engine.InNamespace(id, nsID, start, end); got != want {
			t.Errorf("%s: InNamespace(%q, %q, %v, %v) = %v, want %v", name, id, nsID, start, end, got, want)
		}
	}
}

// TestHashNonASCII pins values of GrowthBook's JS SDK for ids outside
// ASCII (computed with @growthbook/growthbook's hash under node); UTF-8
// hashing, as GrowthBook's Go SDK does, gives other values.
func TestHashNonASCII(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		seed, value string
		version     int
		want        float64
	}{
		{"exp", "ünïcödé", 2, pinUnicodeV2},
		{"exp", "ünïcödé", 1, pinUnicodeV1},
		{"exp", "😀user", 2, pinEmojiV2},
		{"😀", "user", 1, pinEmojiV1},
	} {
		if got, ok := engine.Hash(tt.seed, tt.value, tt.version); !ok || got != tt.want {
			t.Errorf("Hash(%q, %q, %d) = %v, %v, want %v", tt.seed, tt.value, tt.version, got, ok, tt.want)
		}
	}
}

// Values of @growthbook/growthbook 1.7.0's hash under node 20.
const (
	pinUnicodeV2 = 0.0125
	pinUnicodeV1 = 0.849
	pinEmojiV2   = 0.6373
	pinEmojiV1   = 0.191
)

// closeRanges compares ranges to the 8 decimals cases.json keeps.
func closeRanges(got, want [][2]float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		for j := range 2 {
			if math.Abs(got[i][j]-want[i][j]) > 1e-8 {
				return false
			}
		}
	}
	return true
}
