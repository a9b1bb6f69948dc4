package config

import (
	"strings"
	"testing"
)

// TestStaleCredentialsCappedAtAnHour: a token may read through a store
// outage for at most an hour after its last check.
func TestStaleCredentialsCappedAtAnHour(t *testing.T) {
	if _, err := load(t, nil, nil, "config_service:\n  stale_credentials: 2h\n"); err == nil || !strings.Contains(err.Error(), "config_service.stale_credentials must be 1s to 1h") {
		t.Fatalf("stale_credentials 2h: %v", err)
	}
	if o, err := load(t, nil, nil, "config_service:\n  stale_credentials: 1h\n"); err != nil || o.ConfigService.StaleCredentials.Hours() != 1 {
		t.Fatalf("stale_credentials 1h: %v", err)
	}
}
