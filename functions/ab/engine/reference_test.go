package engine_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/functions/ab/engine"
	"github.com/wharfhq/wharf/internal/testenv"
)

// refRequest is what testdata/growthbook-ref.js evaluates with the SDK.
type refRequest struct {
	Hash   [][3]any `json:"hash"`   // seed, value, version
	Ranges [][3]any `json:"ranges"` // numVariations, coverage, weights or null
	Choose [][2]any `json:"choose"` // n, ranges
	NS     [][4]any `json:"ns"`     // id, namespace, start, end
	Cond   [][3]any `json:"cond"`   // attributes, condition, saved groups
}

type refResponse struct {
	Version string            `json:"version"`
	Hash    []*float64        `json:"hash"`
	Ranges  [][][2]float64    `json:"ranges"`
	Choose  []int             `json:"choose"`
	NS      []bool            `json:"ns"`
	Cond    []json.RawMessage `json:"cond"`
}

// runGrowthBookJS evaluates req with GrowthBook's JS SDK under node.
func runGrowthBookJS(t *testing.T, req refRequest) refResponse {
	t.Helper()
	node, dir := testenv.GrowthBookJS(t)
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "testdata/growthbook-ref.js", dir)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Env = append(cmd.Environ(), "NODE_ENV=production")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node growthbook-ref.js: %v\n%s", err, stderr.String())
	}
	var resp refResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("cannot parse the SDK's answer: %v", err)
	}
	if resp.Version != testenv.GrowthBookJSVersion {
		t.Fatalf("@growthbook/growthbook is %s, want %s: run make deps", resp.Version, testenv.GrowthBookJSVersion)
	}
	return resp
}

// idPool mixes ASCII, Latin-1, BMP above the surrogates, and characters
// outside the BMP (surrogate pairs in JavaScript).
var idRunes = []rune("abcxyzAZ09_-.@ éüßñ中文字ã\ue000\uffe9😀😺𝔸\U0010fffd")

func randomString(r *rand.Rand, maxLen int) string {
	var b strings.Builder
	for range r.IntN(maxLen + 1) {
		b.WriteRune(idRunes[r.IntN(len(idRunes))])
	}
	return b.String()
}

// TestSideBySideWithGrowthBookJS compares every engine function with the
// published SDK on generated inputs: exact floats, same booleans.
func TestSideBySideWithGrowthBookJS(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 2026))
	var req refRequest
	for i := range 3000 {
		version := 1 + i%2
		if i%100 == 0 {
			version = []int{0, 3, -1}[r.IntN(3)]
		}
		req.Hash = append(req.Hash, [3]any{randomString(r, 12), randomString(r, 24), version})
	}
	for range 600 {
		n := r.IntN(7)
		coverage := []float64{1, 0, 0.5, 0.1, 0.33, -0.2, 1.7, r.Float64(), r.Float64()}[r.IntN(9)]
		var weights []float64
		switch r.IntN(4) {
		case 0: // none
		case 1: // wrong length
			weights = randomWeights(r, n+1)
		case 2: // not summing to 1
			weights = randomWeights(r, n)
			for i := range weights {
				weights[i] *= 0.9 + 0.2*r.Float64()
			}
		default:
			weights = randomWeights(r, n)
		}
		if weights == nil {
			req.Ranges = append(req.Ranges, [3]any{n, coverage, nil})
		} else {
			req.Ranges = append(req.Ranges, [3]any{n, coverage, weights})
		}
	}
	for i := range 3000 {
		ranges := engine.BucketRanges(1+r.IntN(5), r.Float64(), nil)
		n, _ := engine.Hash(randomString(r, 4), randomString(r, 10), 1+i%2)
		if i%5 == 0 && len(ranges) > 0 { // exactly on a boundary
			n = ranges[r.IntN(len(ranges))][r.IntN(2)]
		}
		req.Choose = append(req.Choose, [2]any{n, ranges})
	}
	for range 2000 {
		s := r.Float64()
		req.NS = append(req.NS, [4]any{randomString(r, 16), randomString(r, 8), s, s + r.Float64()*(1-s)})
	}
	g := newCondGen(r)
	for range 4000 {
		req.Cond = append(req.Cond, [3]any{g.attributes(), g.condition(2), g.groups})
	}

	resp := runGrowthBookJS(t, req)
	t.Logf("compared with @growthbook/growthbook %s: %d hashes, %d range sets, %d choices, %d namespaces, %d conditions",
		resp.Version, len(req.Hash), len(req.Ranges), len(req.Choose), len(req.NS), len(req.Cond))

	for i, c := range req.Hash {
		got, ok := engine.Hash(c[0].(string), c[1].(string), c[2].(int))
		want := resp.Hash[i]
		if (want == nil) == ok || (ok && got != *want) {
			t.Errorf("Hash(%+q, %+q, %d) = %v, %v; GrowthBook JS: %v", c[0], c[1], c[2], got, ok, fmtPtr(want))
		}
	}
	for i, c := range req.Ranges {
		w, _ := c[2].([]float64)
		got := engine.BucketRanges(c[0].(int), c[1].(float64), w)
		if !sameRanges(got, resp.Ranges[i]) {
			t.Errorf("BucketRanges(%d, %v, %v) = %v; GrowthBook JS: %v", c[0], c[1], w, got, resp.Ranges[i])
		}
	}
	for i, c := range req.Choose {
		if got := engine.ChooseVariation(c[0].(float64), c[1].([][2]float64)); got != resp.Choose[i] {
			t.Errorf("ChooseVariation(%v, %v) = %d; GrowthBook JS: %d", c[0], c[1], got, resp.Choose[i])
		}
	}
	for i, c := range req.NS {
		if got := engine.InNamespace(c[0].(string), c[1].(string), c[2].(float64), c[3].(float64)); got != resp.NS[i] {
			t.Errorf("InNamespace(%+q, %+q, %v, %v) = %v; GrowthBook JS: %v", c[0], c[1], c[2], c[3], got, resp.NS[i])
		}
	}
	passed := 0
	for i, c := range req.Cond {
		attrs, cond := roundTrip(t, c[0]), roundTrip(t, c[1])
		got := engine.EvalCondition(attrs, cond, g.groups)
		if compiled := engine.Compile(cond).Eval(attrs, g.groups); compiled != got {
			t.Errorf("Compile(%s).Eval(%s) = %v, EvalCondition %v", jsonText(c[1]), jsonText(c[0]), compiled, got)
		}
		if want := string(resp.Cond[i]); want != "true" && want != "false" {
			t.Errorf("EvalCondition(%s, %s): GrowthBook JS %s", jsonText(c[0]), jsonText(c[1]), want)
			continue
		} else if (want == "true") != got {
			t.Errorf("EvalCondition(%s, %s) = %v; GrowthBook JS: %s", jsonText(c[0]), jsonText(c[1]), got, want)
		}
		if got {
			passed++
		}
	}
	// The generator must reach both answers often, or it tests little.
	if passed < len(req.Cond)/10 || passed > len(req.Cond)*9/10 {
		t.Errorf("%d of %d generated conditions pass: the generator is lopsided", passed, len(req.Cond))
	}
}

func randomWeights(r *rand.Rand, n int) []float64 {
	w := make([]float64, n)
	total := 0.0
	for i := range w {
		w[i] = r.Float64() + 0.01
		total += w[i]
	}
	for i := range w {
		w[i] /= total
	}
	return w
}

func sameRanges(a, b [][2]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func fmtPtr(p *float64) any {
	if p == nil {
		return "null"
	}
	return *p
}

// roundTrip gives v as encoding/json decodes its JSON, the form Wharf
// evaluates (and the form node receives).
func roundTrip(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
