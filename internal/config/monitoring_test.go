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

func TestMonitoringBatchFormat(t *testing.T) {
	t.Parallel()
	m := defaultMonitoring()
	if m.BatchFormat != "binary" || m.validate() != nil {
		t.Fatalf("default %q: %v", m.BatchFormat, m.validate())
	}
	m.BatchFormat = "json"
	if err := m.validate(); err != nil {
		t.Fatal(err)
	}
	m.BatchFormat = "protobuf"
	if err := m.validate(); err == nil || !strings.Contains(err.Error(), "monitoring.batch_format must be binary or json") {
		t.Fatalf("protobuf: %v", err)
	}
}
