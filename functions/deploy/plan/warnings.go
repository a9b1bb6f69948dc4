package plan

import "fmt"

// Warnings says how spec's strategy cannot be honoured on n targets, one
// sentence per problem, each starting with the spec field it is about:
//
//   - canary: fewer hosts than steps, so that some steps would add no
//     host and are dropped (steps [10, 50, 100] on 1 host is one step,
//     with no canary at all);
//   - rolling: a batch of n hosts or more, so that the rollout is one
//     step.
//
// NewRecord keeps them in Record.Warnings, and refuses the deploy with
// them when Spec.Strict is set. Nil when the strategy fits.
func Warnings(spec Spec, n int) []string {
	if n <= 0 {
		return nil
	}
	st := spec.Strategy
	switch st.kind() {
	case KindCanary:
		got := len(Plan(spec, n))
		if want := len(st.Steps); got < want {
			return []string{fmt.Sprintf("strategy.steps: %d canary steps %v cannot be honoured on %s: they collapse into %s (%s)",
				want, st.Steps, plural(n, "host"), plural(got, "step"), reached(spec, n))}
		}
	case KindRolling:
		if n > 1 && st.Batch.Of(n) >= n {
			return []string{fmt.Sprintf("strategy.batch: a batch of %s on %s is one step: every host changes at once", st.Batch, plural(n, "host"))}
		}
	}
	return nil
}

// reached describes the steps Plan makes: "1 host, then 2".
func reached(spec Spec, n int) string {
	s, total := "", 0
	for i, step := range Plan(spec, n) {
		total += len(step)
		switch i {
		case 0:
			s = plural(total, "host")
		default:
			s += fmt.Sprintf(", then %d", total)
		}
	}
	return s
}

// plural is "1 host", "2 hosts".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
