package plan

import (
	"reflect"
	"testing"
)

func TestPlan(t *testing.T) {
	t.Parallel()
	rolling := func(a Amount) Strategy { return Strategy{Kind: KindRolling, Batch: a} }
	canary := func(steps ...int) Strategy { return Strategy{Kind: KindCanary, Steps: steps} }
	for _, tt := range []struct {
		name string
		st   Strategy
		n    int
		want [][]int
	}{
		{"all 1", Strategy{}, 1, [][]int{{0}}},
		{"all 3", Strategy{Kind: KindAll}, 3, [][]int{{0, 1, 2}}},
		{"all 0", Strategy{}, 0, nil},
		{"rolling 1 of 3", rolling(Count(1)), 3, [][]int{{0}, {1}, {2}}},
		{"rolling 2 of 3", rolling(Count(2)), 3, [][]int{{0, 1}, {2}}},
		{"rolling 5 of 3", rolling(Count(5)), 3, [][]int{{0, 1, 2}}},
		{"rolling 1 of 1", rolling(Count(1)), 1, [][]int{{0}}},
		{"rolling 3 of 10", rolling(Count(3)), 10, [][]int{{0, 1, 2}, {3, 4, 5}, {6, 7, 8}, {9}}},
		{"rolling 25% of 10", rolling(Percent(25)), 10, [][]int{{0, 1, 2}, {3, 4, 5}, {6, 7, 8}, {9}}},
		{"rolling 50% of 2", rolling(Percent(50)), 2, [][]int{{0}, {1}}},
		{"rolling 50% of 3", rolling(Percent(50)), 3, [][]int{{0, 1}, {2}}},
		{"rolling 1% of 3", rolling(Percent(1)), 3, [][]int{{0}, {1}, {2}}},
		{"rolling 100% of 10", rolling(Percent(100)), 10, [][]int{{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}}},
		{"canary 1", canary(10, 50, 100), 1, [][]int{{0}}},
		{"canary 2", canary(10, 50, 100), 2, [][]int{{0}, {1}}},
		{"canary 3", canary(10, 50, 100), 3, [][]int{{0}, {1}, {2}}},
		{"canary 10", canary(10, 50, 100), 10, [][]int{{0}, {1, 2, 3, 4}, {5, 6, 7, 8, 9}}},
		{"canary 10 fine", canary(1, 2, 5, 20, 21, 100), 10, [][]int{{0}, {1}, {2}, {3, 4, 5, 6, 7, 8, 9}}},
		{"canary 100 only", canary(100), 3, [][]int{{0, 1, 2}}},
		{"canary 3 of 34/67", canary(34, 67, 100), 3, [][]int{{0, 1}, {2}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			spec := baseSpec()
			spec.Strategy = tt.st
			if got := Plan(spec, tt.n); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Plan(%d) = %v, want %v", tt.n, got, tt.want)
			}
		})
	}
}

// TestPlanCovers: every plan of a valid strategy covers 0..n-1 once, in
// order, with non-empty steps.
func TestPlanCovers(t *testing.T) {
	t.Parallel()
	strategies := []Strategy{
		{}, {Kind: KindRolling, Batch: Count(1)}, {Kind: KindRolling, Batch: Count(7)},
		{Kind: KindRolling, Batch: Percent(33)}, {Kind: KindCanary, Steps: []int{1, 99, 100}},
		{Kind: KindCanary, Steps: []int{5, 10, 25, 50, 75, 100}},
	}
	for _, st := range strategies {
		for n := 1; n <= 40; n++ {
			spec := baseSpec()
			spec.Strategy = st
			next := 0
			for _, step := range Plan(spec, n) {
				if len(step) == 0 {
					t.Fatalf("%+v n=%d: empty step", st, n)
				}
				for _, i := range step {
					if i != next {
						t.Fatalf("%+v n=%d: %v", st, n, Plan(spec, n))
					}
					next++
				}
			}
			if next != n {
				t.Fatalf("%+v n=%d covers %d", st, n, next)
			}
		}
	}
}
