package plan

// Plan splits n targets (indexes 0 to n-1, in SelectTargets order) into
// the steps of spec's strategy:
//
//   - all: one step with every target;
//   - rolling: consecutive batches of strategy.batch targets (a
//     percentage of n is rounded up; at least 1);
//   - canary: for each percentage p of strategy.steps, the step reaches
//     ceil(p×n/100) targets in all (at least 1); a step that would add
//     no target is dropped, so each step adds at least one and the last
//     reaches n.
//
// Within a step, at most max_unavailable targets are in progress at once
// (that is Record.Step's business, not the plan's). Plan returns nil for
// n ≤ 0.
func Plan(spec Spec, n int) [][]int {
	if n <= 0 {
		return nil
	}
	var ends []int // cumulative count at the end of each step
	switch st := spec.Strategy; st.kind() {
	case KindRolling:
		batch := st.Batch.Of(n)
		for end := batch; ; end += batch {
			if end >= n {
				ends = append(ends, n)
				break
			}
			ends = append(ends, end)
		}
	case KindCanary:
		prev := 0
		for _, p := range st.Steps {
			end := min(max((p*n+99)/100, 1), n)
			if end > prev {
				ends = append(ends, end)
				prev = end
			}
		}
		if prev < n {
			ends = append(ends, n)
		}
	default:
		ends = []int{n}
	}
	steps := make([][]int, len(ends))
	start := 0
	for i, end := range ends {
		s := make([]int, 0, end-start)
		for j := start; j < end; j++ {
			s = append(s, j)
		}
		steps[i] = s
		start = end
	}
	return steps
}
