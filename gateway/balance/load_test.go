package balance

import (
	"math"
	"testing"
	"time"
)

func mustWeigher(t testing.TB, opts WeightOptions) *Weigher {
	t.Helper()
	w, err := NewWeigher(opts)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestWeightsInverseToLoad(t *testing.T) {
	t.Parallel()
	w := mustWeigher(t, WeightOptions{})
	now := time.Unix(1000, 0)
	fresh := now.Add(-time.Second)
	cases := []struct {
		name  string
		loads []Load
	}{
		{"cpu 0.3 vs 0.9", []Load{{CPU: 0.3, At: fresh}, {CPU: 0.3, At: fresh}, {CPU: 0.3, At: fresh}, {CPU: 0.9, At: fresh}}},
		{"cpu 0.1 vs 0.3", []Load{{CPU: 0.1, At: fresh}, {CPU: 0.1, At: fresh}, {CPU: 0.1, At: fresh}, {CPU: 0.3, At: fresh}}},
		{"in-flight 10 vs 30", []Load{{InFlight: 10, At: fresh}, {InFlight: 10, At: fresh}, {InFlight: 10, At: fresh}, {InFlight: 30, At: fresh}}},
		{"memory 0.85 vs 0.95", []Load{{Memory: 0.85, At: fresh}, {Memory: 0.85, At: fresh}, {Memory: 0.85, At: fresh}, {Memory: 0.95, At: fresh}}},
	}
	static := []int{1, 1, 1, 1}
	for _, c := range cases {
		got, err := w.Weights(nil, static, c.loads, now)
		if err != nil {
			t.Fatal(err)
		}
		ratio := float64(got[3]) / float64(got[0])
		if ratio >= 0.6 {
			t.Errorf("%s: weights %v, loaded/peer %.2f, want < 0.6", c.name, got, ratio)
		}
		// The reporting instances keep their static total.
		sum := got[0] + got[1] + got[2] + got[3]
		if math.Abs(float64(sum-4*WeightScale)) > 4 {
			t.Errorf("%s: weights %v sum to %d, want %d", c.name, got, sum, 4*WeightScale)
		}
		t.Logf("%s: weights %v (loaded/peer %.2f)", c.name, got, ratio)
	}
}

func TestWeightsStaticFallback(t *testing.T) {
	t.Parallel()
	w := mustWeigher(t, WeightOptions{StaleAfter: 5 * time.Second})
	now := time.Unix(1000, 0)
	loads := []Load{
		{CPU: 0.2, At: now.Add(-time.Second)},     // fresh
		{CPU: 0.8, At: now.Add(-time.Second)},     // fresh
		{CPU: 0.9, At: now.Add(-6 * time.Second)}, // stale: static
		{}, // never reported: static
	}
	got, err := w.Weights(nil, []int{2, 2, 3, 1}, loads, now)
	if err != nil {
		t.Fatal(err)
	}
	if got[2] != 3*WeightScale || got[3] != WeightScale {
		t.Fatalf("stale and missing reports: weights %v, want static ×%d", got, WeightScale)
	}
	if got[0] <= got[1] || got[0]+got[1] < 4*WeightScale-2 || got[0]+got[1] > 4*WeightScale+2 {
		t.Fatalf("fresh reports: weights %v, want the less loaded heavier and the pair summing to %d", got, 4*WeightScale)
	}
	// Equal loads give the static weights exactly.
	eq := []Load{{CPU: 0.5, At: now}, {CPU: 0.5, At: now}}
	got, err = w.Weights(got, []int{1, 3}, eq, now)
	if err != nil || got[0] != WeightScale || got[1] != 3*WeightScale {
		t.Fatalf("equal loads: weights %v, %v", got, err)
	}
}

func TestWeightsRejectBadInput(t *testing.T) {
	t.Parallel()
	w := mustWeigher(t, WeightOptions{})
	if _, err := w.Weights(nil, []int{1}, nil, time.Now()); err == nil {
		t.Error("length mismatch accepted")
	}
	if _, err := w.Weights(nil, []int{0}, []Load{{}}, time.Now()); err == nil {
		t.Error("zero static weight accepted")
	}
	for _, o := range []WeightOptions{{MemoryHigh: 1}, {Floor: -1}, {FullInFlight: -1}, {StaleAfter: -1}, {Floor: math.Inf(1)}} {
		if _, err := NewWeigher(o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}

// FuzzWeights: whatever an instance reports (NaN, ±Inf, negative, huge),
// every weight is in 1..MaxInt32 and usable by the balancers.
func FuzzWeights(f *testing.F) {
	f.Add(0.3, 0.5, 10, 0.9, 0.99, 1000, int64(0), 1, 1)
	f.Add(math.NaN(), math.Inf(1), -5, math.Inf(-1), -1.0, 1<<40, int64(-1e12), 1000, 2000000)
	f.Fuzz(func(t *testing.T, c1, m1 float64, f1 int, c2, m2 float64, f2 int, skew int64, s1, s2 int) {
		w := mustWeigher(t, WeightOptions{})
		now := time.Unix(1e6, 0)
		loads := []Load{{CPU: c1, Memory: m1, InFlight: f1, At: now}, {CPU: c2, Memory: m2, InFlight: f2, At: now.Add(time.Duration(skew))}}
		got, err := w.Weights(nil, []int{s1, s2}, loads, now)
		if err != nil {
			if s1 >= 1 && s2 >= 1 && s1 <= math.MaxInt32/WeightScale && s2 <= math.MaxInt32/WeightScale {
				t.Fatalf("valid static weights rejected: %v", err)
			}
			return
		}
		for _, v := range got {
			if v < 1 || v > math.MaxInt32 {
				t.Fatalf("weight %d out of range", v)
			}
		}
		if _, err := NewP2C(got, Options{}); err != nil {
			t.Fatalf("balancer rejected weights %v: %v", got, err)
		}
	})
}
