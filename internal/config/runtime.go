package config

import (
	"fmt"
	"strings"
)

// RuntimeOptions tunes the Go runtime of the process. Zero values keep Go's
// own defaults (and so the GOMAXPROCS, GOGC and GOMEMLIMIT environment
// variables); a value set here wins over them. The defaults were chosen by
// measurement (bench/gateway/README.md): on a 2-core machine shared with the
// load generator and the upstream, neither GOMAXPROCS=1 nor a larger GOGC
// made the gateway faster — the request path allocates once per request.
type RuntimeOptions struct {
	GoMaxProcs  int    `yaml:"gomaxprocs" help:"Go scheduler threads running Go code at once (GOMAXPROCS); 0: Go's default (the CPUs the process may use, or the GOMAXPROCS environment variable)"`
	GOGC        int    `yaml:"gogc" help:"garbage collection target percentage (GOGC); 0: Go's default (100, or the GOGC environment variable); -1: collect only at the memory limit (needs memory_limit)"`
	MemoryLimit string `yaml:"memory_limit" help:"soft memory limit of the Go runtime (GOMEMLIMIT), a size like 512MiB or 2GB; empty: Go's default (none, or the GOMEMLIMIT environment variable)"`
}

// MemoryLimitBytes is memory_limit in bytes (0: not set).
func (r RuntimeOptions) MemoryLimitBytes() (int64, error) {
	s := strings.TrimSpace(r.MemoryLimit)
	if s == "" {
		return 0, nil
	}
	if strings.HasSuffix(s, "%") {
		return 0, fmt.Errorf("runtime.memory_limit must be a size like 512MiB, got %q", r.MemoryLimit)
	}
	b, _, err := ParseFreeDisk(s)
	if err != nil {
		return 0, fmt.Errorf("runtime.memory_limit must be a size like 512MiB, got %q", r.MemoryLimit)
	}
	if b == 0 || b > 1<<62 {
		return 0, fmt.Errorf("runtime.memory_limit must be a positive size like 512MiB, got %q", r.MemoryLimit)
	}
	return int64(b), nil
}

// validate checks the runtime options.
func (r RuntimeOptions) validate() []error {
	var errs []error
	if r.GoMaxProcs < 0 || r.GoMaxProcs > 1024 {
		errs = append(errs, fmt.Errorf("runtime.gomaxprocs must be 0 (Go's default) to 1024, got %d", r.GoMaxProcs))
	}
	if r.GOGC < -1 {
		errs = append(errs, fmt.Errorf("runtime.gogc must be -1 (off), 0 (Go's default) or a positive percentage, got %d", r.GOGC))
	}
	limit, err := r.MemoryLimitBytes()
	if err != nil {
		errs = append(errs, err)
	}
	if r.GOGC == -1 && limit == 0 && err == nil {
		errs = append(errs, fmt.Errorf("runtime.gogc -1 turns garbage collection off until the memory limit: set runtime.memory_limit too (without one the heap grows without bound)"))
	}
	return errs
}
