package rooms

import (
	"math"
	"testing"
)

const eps = 1e-9

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// checkDist fails unless got has exactly want's rooms with shares within
// eps, summing to 1 (or all 0 when want is all 0).
func checkDist(t *testing.T, got Distribution, want map[string]float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("distribution %v, want rooms of %v", got, want)
	}
	sum, wantSum := 0.0, 0.0
	for r, w := range want {
		g, ok := got[r]
		if !ok || !near(g, w, eps) {
			t.Fatalf("distribution %v, want %v (room %s: %v, want %v)", got, want, r, g, w)
		}
		sum += g
		wantSum += w
	}
	if wantSum > 0 && !near(sum, 1, eps) {
		t.Fatalf("shares %v sum to %v, want 1", got, sum)
	}
}

func TestDistribute(t *testing.T) {
	t.Parallel()
	bjOnly := map[string]int{"bj": 100, "sh": 0}
	three := []string{"bj", "sh", "gz"}
	tests := []struct {
		name string
		p    Policy
		h    Health
		want map[string]float64
	}{
		{"all healthy", Policy{Weights: bjOnly, Priority: []string{"bj", "sh"}},
			Health{"bj": {10, 10}, "sh": {10, 10}}, map[string]float64{"bj": 1, "sh": 0}},
		{"weighted split", Policy{Weights: map[string]int{"bj": 30, "sh": 70}},
			Health{"bj": {3, 3}, "sh": {4, 4}}, map[string]float64{"bj": 0.3, "sh": 0.7}},
		{"at threshold keeps all", Policy{Weights: bjOnly, Priority: []string{"bj", "sh"}},
			Health{"bj": {7, 10}, "sh": {10, 10}}, map[string]float64{"bj": 1, "sh": 0}},
		{"just below threshold: 69 % × 1.4", Policy{Weights: bjOnly, Priority: []string{"bj", "sh"}},
			Health{"bj": {69, 100}, "sh": {10, 10}}, map[string]float64{"bj": 0.966, "sh": 0.034}},
		{"40 % healthy keeps 56 %", Policy{Weights: bjOnly, Priority: []string{"bj", "sh"}},
			Health{"bj": {4, 10}, "sh": {10, 10}}, map[string]float64{"bj": 0.56, "sh": 0.44}},
		{"50 % healthy keeps 70 %", Policy{Weights: bjOnly, Priority: []string{"bj", "sh"}},
			Health{"bj": {5, 10}, "sh": {3, 3}}, map[string]float64{"bj": 0.7, "sh": 0.3}},
		{"zero healthy gets nothing", Policy{Weights: bjOnly, Priority: []string{"bj", "sh"}},
			Health{"bj": {0, 10}, "sh": {2, 2}}, map[string]float64{"bj": 0, "sh": 1}},
		{"missing from health means no instances", Policy{Weights: bjOnly, Priority: []string{"bj", "sh"}},
			Health{"sh": {2, 2}}, map[string]float64{"bj": 0, "sh": 1}},
		// Envoy: P0 load 70 %, P1 min(30 %, 28 %), P2 the remaining 2 %.
		{"multi-level spill", Policy{Weights: map[string]int{"bj": 100}, Priority: three},
			Health{"bj": {5, 10}, "sh": {2, 10}, "gz": {4, 4}},
			map[string]float64{"bj": 0.7, "sh": 0.28, "gz": 0.02}},
		// bj's 50 % fills sh's free 35 % then gz; sh's own 15 % spill
		// skips bj (no capacity) to gz.
		{"two weighted rooms spill to a standby", Policy{Weights: map[string]int{"bj": 50, "sh": 50}, Priority: three},
			Health{"bj": {0, 10}, "sh": {5, 10}, "gz": {4, 4}},
			map[string]float64{"bj": 0, "sh": 0.7, "gz": 0.3}},
		// Envoy's normalisation: total health 42 %, scaled up.
		{"normalised when total health < 100 %", Policy{Weights: map[string]int{"bj": 100}, Priority: []string{"bj", "sh"}},
			Health{"bj": {2, 10}, "sh": {1, 10}}, map[string]float64{"bj": 0.28 / 0.42, "sh": 0.14 / 0.42}},
		{"dead room gets nothing after normalisation", Policy{Weights: map[string]int{"bj": 50, "sh": 50}},
			Health{"bj": {0, 10}, "sh": {3, 10}}, map[string]float64{"bj": 0, "sh": 1}},
		{"panic mode: configured weights", Policy{Weights: map[string]int{"bj": 80, "sh": 20}},
			Health{"bj": {0, 10}, "sh": {0, 5}}, map[string]float64{"bj": 0.8, "sh": 0.2}},
		{"panic mode skips rooms without instances", Policy{Weights: map[string]int{"bj": 80, "sh": 20}},
			Health{"sh": {0, 5}}, map[string]float64{"bj": 0, "sh": 1}},
		{"panic mode without any instance", Policy{Weights: map[string]int{"bj": 80, "sh": 20}},
			Health{}, map[string]float64{"bj": 0.8, "sh": 0.2}},
		// No priority: only rooms with a positive weight take spill, so a
		// drained room (weight 0) is never a failover target.
		{"unlisted zero-weight room takes no spill", Policy{Weights: bjOnly},
			Health{"bj": {5, 10}, "sh": {10, 10}}, map[string]float64{"bj": 1, "sh": 0}},
		{"default order: weighted rooms", Policy{Weights: map[string]int{"bj": 60, "sh": 40, "gz": 0}},
			Health{"bj": {0, 10}, "sh": {10, 10}, "gz": {10, 10}}, map[string]float64{"bj": 0, "sh": 1, "gz": 0}},
		{"priority order decides who takes spill", Policy{Weights: map[string]int{"bj": 100}, Priority: []string{"bj", "gz", "sh"}},
			Health{"bj": {0, 10}, "sh": {10, 10}, "gz": {10, 10}}, map[string]float64{"bj": 0, "sh": 0, "gz": 1}},
		{"custom threshold and factor", Policy{Weights: bjOnly, Priority: []string{"bj", "sh"}, Threshold: 0.9, Overprovision: 1},
			Health{"bj": {8, 10}, "sh": {10, 10}}, map[string]float64{"bj": 0.8, "sh": 0.2}},
		{"no positive weight", Policy{Weights: map[string]int{"bj": 0}},
			Health{"bj": {1, 1}}, map[string]float64{"bj": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkDist(t, Distribute(tt.p, tt.h), tt.want)
		})
	}
}

func TestRoomHealthShare(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		h    RoomHealth
		want float64
	}{{RoomHealth{0, 0}, 0}, {RoomHealth{3, 4}, 0.75}, {RoomHealth{5, 4}, 1}, {RoomHealth{-1, 4}, 0}} {
		if got := tt.h.Share(); got != tt.want {
			t.Errorf("%+v.Share() = %v, want %v", tt.h, got, tt.want)
		}
	}
}
