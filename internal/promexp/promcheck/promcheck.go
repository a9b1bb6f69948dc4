// Package promcheck checks a /metrics exposition the way Prometheus reads it:
// with the Prometheus text parser (github.com/prometheus/common/expfmt), every
// family with HELP and TYPE, every histogram with le buckets ascending to
// +Inf and counts that never decrease. Tests import it; the binary does not.
package promcheck

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Parse parses an exposition with the Prometheus text parser and checks it.
// It returns the families by name and every problem found, joined.
func Parse(text string) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("cannot parse the exposition: %w", err)
	}
	var errs []error
	names := make([]string, 0, len(fams))
	for n := range fams {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := checkFamily(fams[n]); err != nil {
			errs = append(errs, err)
		}
	}
	for _, l := range strings.Split(text, "\n") {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == "#" && f[1] == "HELP" && len(f) == 3 {
			errs = append(errs, fmt.Errorf("%s: empty HELP text", f[2]))
		}
	}
	return fams, errors.Join(errs...)
}

func checkFamily(mf *dto.MetricFamily) error {
	name := mf.GetName()
	if mf.Help == nil {
		return fmt.Errorf("%s: no HELP line", name)
	}
	if mf.GetType() == dto.MetricType_UNTYPED {
		return fmt.Errorf("%s: no TYPE line (or untyped): %s", name, mf.GetHelp())
	}
	if mf.GetType() != dto.MetricType_HISTOGRAM {
		return nil
	}
	for _, m := range mf.GetMetric() {
		if err := checkHistogram(m.GetHistogram()); err != nil {
			return fmt.Errorf("%s%s: %w", name, labels(m), err)
		}
	}
	return nil
}

func checkHistogram(h *dto.Histogram) error {
	b := h.GetBucket()
	if len(b) < 2 {
		return fmt.Errorf("%d buckets; want le buckets and +Inf", len(b))
	}
	if last := b[len(b)-1].GetUpperBound(); !math.IsInf(last, +1) {
		return fmt.Errorf("last bucket is le=%v, not +Inf", last)
	}
	for i := 1; i < len(b); i++ {
		if b[i].GetUpperBound() <= b[i-1].GetUpperBound() {
			return fmt.Errorf("bucket bounds not ascending: %v after %v", b[i].GetUpperBound(), b[i-1].GetUpperBound())
		}
		if b[i].GetCumulativeCount() < b[i-1].GetCumulativeCount() {
			return fmt.Errorf("bucket counts decrease: le=%v has %d, le=%v has %d",
				b[i-1].GetUpperBound(), b[i-1].GetCumulativeCount(), b[i].GetUpperBound(), b[i].GetCumulativeCount())
		}
	}
	// _count is optional in the text format (the Go runtime histograms of
	// VictoriaMetrics/metrics have none); when present it equals +Inf.
	if inf := b[len(b)-1].GetCumulativeCount(); h.SampleCount != nil && inf != h.GetSampleCount() {
		return fmt.Errorf("+Inf bucket has %d, _count has %d", inf, h.GetSampleCount())
	}
	return nil
}

func labels(m *dto.Metric) string {
	var parts []string
	for _, l := range m.GetLabel() {
		parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	return "{" + strings.Join(parts, ",") + "}"
}
