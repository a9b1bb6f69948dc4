package config

import (
	"fmt"
	"strconv"
	"strings"
)

// DefaultMinFreeDisk is monitoring.min_free_disk's default.
const DefaultMinFreeDisk = "1GiB"

// ParseFreeDisk reads a free-space floor: a size ("1GiB", "512MiB",
// "2GB", "1048576" bytes; binary and decimal units, case-insensitive) or
// a percentage of the filesystem ("5%"). "0" turns the floor off. It
// returns the bytes or the percent (the other is 0).
func ParseFreeDisk(s string) (bytes uint64, percent float64, err error) {
	t := strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(t, "%"); ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || v < 0 || v >= 100 {
			return 0, 0, fmt.Errorf("want a percentage 0..99.9, e.g. 5%%, got %q", s)
		}
		return 0, v, nil
	}
	lower := strings.ToLower(t)
	mult := uint64(1)
	for _, u := range []struct {
		suffix string
		mult   uint64
	}{
		{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
		{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
		{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40}, {"b", 1},
	} {
		if n, ok := strings.CutSuffix(lower, u.suffix); ok {
			lower, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(lower, 64)
	if err != nil || v < 0 || v*float64(mult) > 1<<62 {
		return 0, 0, fmt.Errorf("want a size such as 1GiB or 512MiB, or a percentage such as 5%%, got %q", s)
	}
	return uint64(v * float64(mult)), 0, nil
}
