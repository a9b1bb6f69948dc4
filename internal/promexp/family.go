// Package promexp writes Wharf's /metrics in the Prometheus text format with
// a "# HELP" and "# TYPE" line for every metric family. The metric values come
// from github.com/VictoriaMetrics/metrics sets; what each family is (its type,
// help text and labels) comes from a Catalog that every component contributes
// to with its MetricFamilies. The same Catalog is what docs/metrics.md lists.
//
// The library's own metadata switch (metrics.ExposeMetadata) is process-wide,
// writes an empty HELP and derives the TYPE from the Go type (an in-flight
// gauge kept in a metrics.Counter would say "counter"), hence this writer.
package promexp

import (
	"fmt"
	"strings"
)

// Type is a metric family's Prometheus type.
type Type string

// The Prometheus metric types Wharf exposes.
const (
	Counter   Type = "counter"
	Gauge     Type = "gauge"
	Histogram Type = "histogram"
	Summary   Type = "summary"
)

// Family describes one metric family: what its HELP and TYPE lines say and
// which labels its series carry (for the docs).
type Family struct {
	// Name is the family name without labels or the _bucket/_sum/_count
	// suffixes of a histogram or summary.
	Name string
	Type Type
	// Help is one sentence saying what is counted or measured, with its unit.
	Help string
	// Labels are the label names its series carry (le and quantile excluded).
	Labels []string
}

// validName reports whether s is a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)
// or, with colon false, a label name ([a-zA-Z_][a-zA-Z0-9_]*).
func validName(s string, colon bool) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		ok := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' ||
			i > 0 && c >= '0' && c <= '9' || colon && c == ':'
		if !ok {
			return false
		}
	}
	return true
}

// Validate reports a family that the text format cannot carry: a bad name,
// type or label name, or no help text.
func (f Family) Validate() error {
	if !validName(f.Name, true) {
		return fmt.Errorf("metric family %q: invalid name", f.Name)
	}
	switch f.Type {
	case Counter, Gauge, Histogram, Summary:
	default:
		return fmt.Errorf("metric family %s: invalid type %q", f.Name, f.Type)
	}
	if strings.TrimSpace(f.Help) == "" {
		return fmt.Errorf("metric family %s: no help text", f.Name)
	}
	for _, l := range f.Labels {
		if !validName(l, false) || strings.HasPrefix(l, "__") || l == "le" || l == "quantile" {
			return fmt.Errorf("metric family %s: invalid label name %q", f.Name, l)
		}
	}
	return nil
}

// CheckConventions reports where a Wharf family breaks the Prometheus naming
// conventions: the wharf_ prefix, counters (and only counters) ending in
// _total, base units only, histograms named after their unit.
func (f Family) CheckConventions() error {
	if err := f.Validate(); err != nil {
		return err
	}
	n := f.Name
	if !strings.HasPrefix(n, "wharf_") {
		return fmt.Errorf("metric family %s: no wharf_ prefix", n)
	}
	if n != strings.ToLower(n) {
		return fmt.Errorf("metric family %s: not snake_case", n)
	}
	if (f.Type == Counter) != strings.HasSuffix(n, "_total") {
		return fmt.Errorf("metric family %s: counters and only counters end in _total", n)
	}
	base := strings.TrimSuffix(n, "_total")
	otherUnits := []string{"_milliseconds", "_ms", "_microseconds", "_us", "_nanoseconds", "_ns",
		"_minutes", "_hours", "_days", "_kilobytes", "_kb", "_megabytes", "_mb", "_percent"}
	for _, u := range otherUnits {
		if strings.HasSuffix(base, u) || strings.Contains(base, u+"_") {
			return fmt.Errorf("metric family %s: %s is not a base unit (use seconds or bytes)", n, u[1:])
		}
	}
	if f.Type == Histogram || f.Type == Summary {
		unit := false
		for _, u := range []string{"_seconds", "_bytes", "_ratio"} {
			unit = unit || strings.HasSuffix(base, u)
		}
		if !unit {
			return fmt.Errorf("metric family %s: a %s names its unit (_seconds, _bytes, ...)", n, f.Type)
		}
	}
	return nil
}
