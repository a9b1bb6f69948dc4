package plan

import (
	"strings"
	"testing"
)

// TestWarnings: a strategy the hosts cannot honour is said so before the
// deploy starts.
func TestWarnings(t *testing.T) {
	t.Parallel()
	canary := func(steps ...int) Spec {
		s := baseSpec()
		s.Strategy = Strategy{Kind: KindCanary, Steps: steps}
		return s
	}
	rolling := func(batch Amount) Spec {
		s := baseSpec()
		s.Strategy = Strategy{Kind: KindRolling, Batch: batch}
		return s
	}
	for _, tc := range []struct {
		name  string
		spec  Spec
		hosts int
		want  []string // substrings of the one warning; none: no warning
	}{
		{"canary on enough hosts", canary(10, 50, 100), 10, nil},
		{"canary on one host", canary(10, 50, 100), 1, []string{"strategy.steps", "3 canary steps", "1 host", "1 step"}},
		{"canary on two hosts", canary(10, 50, 100), 2, []string{"3 canary steps", "2 hosts", "2 steps"}},
		{"canary of one step", canary(100), 1, nil},
		{"rolling batch of all hosts", rolling(Count(5)), 3, []string{"strategy.batch", "one step"}},
		{"rolling by percent", rolling(Percent(50)), 4, nil},
		{"all at once", baseSpec(), 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Warnings(tc.spec, tc.hosts)
			if len(tc.want) == 0 {
				if len(got) != 0 {
					t.Fatalf("warnings %q, want none", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("warnings %q, want one", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got[0], w) {
					t.Fatalf("warning %q does not say %q", got[0], w)
				}
			}
		})
	}
}

// TestRecordWarningsAndStrict: NewRecord keeps the warnings in the record;
// with strict they refuse the deploy, naming the field.
func TestRecordWarningsAndStrict(t *testing.T) {
	t.Parallel()
	spec := baseSpec()
	spec.Strategy = Strategy{Kind: KindCanary, Steps: []int{10, 50, 100}}
	r := mustRecord(t, spec, 1)
	if len(r.Warnings) != 1 || len(r.Steps) != 1 {
		t.Fatalf("warnings %q, steps %d", r.Warnings, len(r.Steps))
	}
	spec.Strict = true
	_, err := NewRecord("d-1", "shop", relNew, relPrev, "alice", spec, targets(1), t0)
	assertFields(t, err, "strategy.steps")
	if _, err := NewRecord("d-1", "shop", relNew, relPrev, "alice", spec, targets(10), t0); err != nil {
		t.Fatalf("strict with enough hosts: %v", err)
	}
	if _, err := ParseSpec([]byte(`{"version": "1.0.0", "targets": {"all": true}, "strict": true}`)); err != nil {
		t.Fatalf("strict parses: %v", err)
	}
}
