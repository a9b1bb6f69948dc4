package config

import (
	"strings"
	"testing"
)

// TestGOGCOffNeedsMemoryLimit: runtime.gogc -1 turns collection off until
// the memory limit; without runtime.memory_limit there is none, so the
// heap grows without bound: refused, naming runtime.gogc.
func TestGOGCOffNeedsMemoryLimit(t *testing.T) {
	_, err := load(t, nil, nil, "runtime:\n  gogc: -1\n")
	if err == nil || !strings.Contains(err.Error(), "runtime.gogc") || !strings.Contains(err.Error(), "memory_limit") {
		t.Fatalf("gogc -1 without memory_limit: %v", err)
	}
	o, err := load(t, nil, nil, "runtime:\n  gogc: -1\n  memory_limit: 512MiB\n")
	if err != nil || o.Runtime.GOGC != -1 {
		t.Fatalf("gogc -1 with memory_limit: %+v, %v", o.Runtime, err)
	}
}
