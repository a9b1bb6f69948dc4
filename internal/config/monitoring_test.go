package config

import (
	"strings"
	"testing"
)

// monitoring.max_backlog: 0 turns the check off, a negative value is
// refused naming the key.
func TestMonitoringMaxBacklog(t *testing.T) {
	t.Parallel()
	o := defaultMonitoring()
	if o.MaxBacklog != DefaultMaxBacklog || o.validate() != nil {
		t.Fatalf("default %d: %v", o.MaxBacklog, o.validate())
	}
	o.MaxBacklog = 0
	if err := o.validate(); err != nil {
		t.Fatalf("0 (off): %v", err)
	}
	o.MaxBacklog = -1
	if err := o.validate(); err == nil || !strings.Contains(err.Error(), "monitoring.max_backlog must be 0 (off) or positive, got -1") {
		t.Fatalf("negative: %v", err)
	}
}
