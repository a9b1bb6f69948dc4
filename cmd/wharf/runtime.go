package main

import (
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"

	"github.com/wharfhq/wharf/internal/config"
)

// applyRuntime sets the Go runtime knobs of runtime.* that are not zero (a
// zero keeps Go's default and the GOMAXPROCS / GOGC / GOMEMLIMIT environment)
// and logs the values in effect.
func applyRuntime(o config.RuntimeOptions, log *slog.Logger) error {
	limit, err := o.MemoryLimitBytes()
	if err != nil {
		return fmt.Errorf("cannot apply the runtime options: %w", err)
	}
	if o.GoMaxProcs > 0 {
		runtime.GOMAXPROCS(o.GoMaxProcs)
	}
	if o.GOGC != 0 {
		debug.SetGCPercent(o.GOGC)
	}
	if limit > 0 {
		debug.SetMemoryLimit(limit)
	}
	gogc := debug.SetGCPercent(-1)
	debug.SetGCPercent(gogc)
	log.Debug("go runtime", "gomaxprocs", runtime.GOMAXPROCS(0), "gogc", gogc, "memory_limit", debug.SetMemoryLimit(-1))
	return nil
}
