package gateway

import "testing"

func TestKeepDeadline(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		inEffect, want, slack int64
		keep                  bool
	}{
		{0, 100, 10, false},   // none in effect: apply
		{100, 100, 10, true},  // the same
		{100, 109, 10, true},  // later by less than the slack
		{100, 110, 10, false}, // later by the slack
		{100, 99, 10, false},  // earlier: apply at once
		{100, 101, 0, false},  // no slack: every deadline applies
	} {
		if got := keepDeadline(c.inEffect, c.want, c.slack); got != c.keep {
			t.Errorf("keepDeadline(%d, %d, %d) = %v, want %v", c.inEffect, c.want, c.slack, got, c.keep)
		}
	}
}
