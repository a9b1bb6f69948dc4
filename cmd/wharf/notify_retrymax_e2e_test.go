package main

import (
	"strings"
	"testing"
)

// TestNotifyRetryMaxFlag: notify.retry_max is a flag of the notify role
// and of serve, and a value out of range is refused naming the key.
func TestNotifyRetryMaxFlag(t *testing.T) {
	dir := t.TempDir()
	for _, role := range []string{"notify", "serve"} {
		out, _, code := runWharf(t, dir, nil, role, "--help")
		if code != 0 || !strings.Contains(out, "--notify-retry-max") || !strings.Contains(out, "(default 5m0s)") {
			t.Fatalf("%s --help: %d, lacks --notify-retry-max (default 5m0s):\n%s", role, code, out)
		}
		for _, bad := range []string{"100ms", "25h"} {
			_, errOut, code := runWharf(t, dir, nil, role, "--notify-retry-max="+bad)
			if code == 0 || !strings.Contains(errOut, "notify.retry_max must be 1s..24h, got "+bad) {
				t.Fatalf("%s --notify-retry-max=%s: %d %s", role, bad, code, errOut)
			}
		}
		_, errOut, code := runWharf(t, dir, []string{"WHARF_NOTIFY_RETRY_MAX=soon"}, role)
		if code == 0 || !strings.Contains(errOut, "WHARF_NOTIFY_RETRY_MAX") {
			t.Fatalf("%s with WHARF_NOTIFY_RETRY_MAX=soon: %d %s", role, code, errOut)
		}
	}
}
