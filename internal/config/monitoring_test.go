package config

import (
	"strings"
	"testing"
	"time"
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

// monitoring.series_sync_interval: 0 (after every group commit) up to 1s;
// beyond or negative is refused naming the key.
func TestMonitoringSeriesSyncInterval(t *testing.T) {
	t.Parallel()
	m := defaultMonitoring()
	if m.SeriesSyncInterval != DefaultSeriesSyncInterval || m.validate() != nil {
		t.Fatalf("default %s: %v", m.SeriesSyncInterval, m.validate())
	}
	for _, ok := range []time.Duration{0, time.Millisecond, time.Second} {
		m.SeriesSyncInterval = ok
		if err := m.validate(); err != nil {
			t.Fatalf("%s: %v", ok, err)
		}
	}
	for _, bad := range []time.Duration{-time.Millisecond, 1001 * time.Millisecond} {
		m.SeriesSyncInterval = bad
		if err := m.validate(); err == nil || !strings.Contains(err.Error(), "monitoring.series_sync_interval must be 0 (after every group commit) to 1s, got "+bad.String()) {
			t.Fatalf("%s: %v", bad, err)
		}
	}
}
