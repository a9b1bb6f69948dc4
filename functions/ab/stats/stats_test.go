package stats_test

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/wharfhq/wharf/functions/ab/stats"
)

func TestHolmBonferroni(t *testing.T) {
	t.Parallel()
	// Holm's example: m = 4, sorted p 0.01 0.02 0.03 0.04 → 0.04 0.06 0.06 0.06.
	got := stats.HolmBonferroni([]float64{0.03, 0.01, 0.04, 0.02})
	want := []float64{0.06, 0.04, 0.06, 0.06}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-15 {
			t.Fatalf("HolmBonferroni = %v, want %v", got, want)
		}
	}
	got = stats.HolmBonferroni([]float64{0.5, math.NaN(), 0.001})
	if got[0] != 0.5 || !math.IsNaN(got[1]) || got[2] != 0.002 {
		t.Fatalf("HolmBonferroni with NaN = %v, want [0.5 NaN 0.002] (m = 2)", got)
	}
	if len(stats.HolmBonferroni(nil)) != 0 {
		t.Fatal("HolmBonferroni(nil) is not empty")
	}
}

func TestParseTrim(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in, want string
	}{
		{"", "none"}, {"none", "none"}, {"iqr", "iqr"}, {"iqr:pooled", "iqr:pooled"},
		{"cap:0.99", "cap:0.99"}, {"cap:1", "cap:1"}, {"cap:0.95:pooled", "cap:0.95:pooled"},
	} {
		tr, err := stats.ParseTrim(tt.in)
		if err != nil || tr.String() != tt.want {
			t.Errorf("ParseTrim(%q) = %v, %v, want %s", tt.in, tr, err, tt.want)
		}
	}
	for _, bad := range []string{"cap", "cap:0", "cap:1.5", "cap:x", "cap:NaN", "iqr:0.9", "box", "none:pooled", "iqr:pooled:pooled"} {
		if _, err := stats.ParseTrim(bad); err == nil {
			t.Errorf("ParseTrim(%q) accepted", bad)
		}
	}
}

func TestTrimReportsLostUnits(t *testing.T) {
	t.Parallel()
	control := []float64{1, 2, 3, 4, 5, 6, 7, 8, 100}
	treatment := []float64{2, 3, 4, 5, 6, 7, 8, 9, 10}
	tr, _ := stats.ParseTrim("iqr")
	out, lost := tr.Apply([][]float64{control, treatment})
	if !slices.Equal(lost, []int{1, 0}) || len(out[0]) != 8 || slices.Contains(out[0], 100) {
		t.Fatalf("iqr per arm: lost %v, control %v", lost, out[0])
	}
	if control[8] != 100 {
		t.Fatal("Apply changed its input")
	}
	capped, _ := stats.ParseTrim("cap:0.5")
	out, lost = capped.Apply([][]float64{control})
	if lost[0] != 0 || out[0][8] != 5 || out[0][0] != 1 {
		t.Fatalf("cap at the median: %v, lost %v", out[0], lost)
	}
	out, lost = tr.Apply([][]float64{{}, {7}})
	if len(out[0]) != 0 || len(out[1]) != 1 || lost[0]+lost[1] != 0 {
		t.Fatalf("iqr of empty and single arms: %v, lost %v", out, lost)
	}
}

func TestPercentileEdges(t *testing.T) {
	t.Parallel()
	if !math.IsNaN(stats.Percentile(nil, 0.5)) {
		t.Error("Percentile of nothing is not NaN")
	}
	v := []float64{1, 2, 3, 4}
	for q, want := range map[float64]float64{0: 1, 1: 4, 0.5: 2.5, 0.25: 1.75, -1: 1, 2: 4} {
		if got := stats.Percentile(v, q); got != want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", v, q, got, want)
		}
	}
}

func TestWelchNeedsData(t *testing.T) {
	t.Parallel()
	one := stats.Summarize([]float64{3})
	two := stats.Summarize([]float64{1, 2})
	flat := stats.Summarize([]float64{5, 5, 5})
	for _, c := range [][2]stats.Summary{{one, two}, {two, one}, {flat, flat}, {{}, two}} {
		if _, err := stats.Welch(c[0], c[1], 0.05); !errors.Is(err, stats.ErrTooFewUnits) {
			t.Errorf("Welch(%+v, %+v) error %v, want ErrTooFewUnits", c[0], c[1], err)
		}
	}
	c, err := stats.Welch(stats.Summarize([]float64{0, 0, 0}), stats.Summarize([]float64{1, 2, 3}), 0.05)
	if err != nil || c.Lift != 0 || c.Diff != 2 {
		t.Errorf("Welch against a zero control mean = %+v, %v; want a diff and no lift", c, err)
	}
}

func TestSummaries(t *testing.T) {
	t.Parallel()
	s := stats.Summarize([]float64{1e9 + 1, 1e9 + 2, 1e9 + 3})
	if s.Units != 3 || s.Mean != 1e9+2 || s.Variance != 1 {
		t.Errorf("Summarize with an offset = %+v", s)
	}
	m := stats.SummaryFromMoments(3, 6, 14)
	if m.Mean != 2 || m.Variance != 1 {
		t.Errorf("SummaryFromMoments = %+v", m)
	}
	p := stats.ProportionSummary(1, 4)
	if want := stats.Summarize([]float64{1, 0, 0, 0}); math.Abs(p.Variance-want.Variance) > 1e-15 || p.Mean != want.Mean {
		t.Errorf("ProportionSummary = %+v, want %+v", p, want)
	}
}

func TestTwoProportionsBadCounts(t *testing.T) {
	t.Parallel()
	for _, c := range [][4]int{{1, 0, 1, 2}, {3, 2, 1, 2}, {-1, 2, 1, 2}, {1, 2, 1, 0}} {
		if _, err := stats.TwoProportions(c[0], c[1], c[2], c[3], 0.05); !errors.Is(err, stats.ErrBadCounts) {
			t.Errorf("TwoProportions%v error %v, want ErrBadCounts", c, err)
		}
	}
	r, err := stats.TwoProportions(0, 10, 0, 10, 0.05)
	if err != nil || r.PValue != 1 {
		t.Errorf("no conversions at all: %+v, %v; want p 1", r, err)
	}
}

func TestCheckSRM(t *testing.T) {
	t.Parallel()
	if s := stats.CheckSRM([]float64{0, 0}, []float64{1, 1}); s.PValue != 1 {
		t.Errorf("no units: %+v", s)
	}
	if s := stats.CheckSRM([]float64{5000, 5000}, []float64{0.5, 0.5}); s.ChiSquare != 0 || s.PValue != 1 || s.Flagged(10000, 1000) {
		t.Errorf("a perfect split: %+v", s)
	}
	s := stats.CheckSRM([]float64{5300, 4700, 123}, []float64{1, 1, 0})
	if s.DF != 1 || !s.Flagged(10000, 1000) || s.Flagged(500, 1000) {
		t.Errorf("a 53/47 split of 10,000 with a weight-0 arm: %+v", s)
	}
	if s := stats.Independence([][]float64{{10, 0}, {0, 0}}); s.PValue != 1 {
		t.Errorf("a table with one non-zero row: %+v", s)
	}
}

func TestDistributionEdges(t *testing.T) {
	t.Parallel()
	if stats.TCDF(math.Inf(1), 3) != 1 || stats.TCDF(math.Inf(-1), 3) != 0 || stats.TCDF(0, 3) != 0.5 {
		t.Error("TCDF at ±∞ or 0")
	}
	if !math.IsNaN(stats.TCDF(1, 0)) || !math.IsNaN(stats.TPPF(0.5, -1)) || !math.IsNaN(stats.TPPF(2, 3)) {
		t.Error("t with bad parameters is not NaN")
	}
	if stats.ChiSquareSF(0, 3) != 1 || stats.ChiSquarePPF(0, 3) != 0 || !math.IsInf(stats.ChiSquarePPF(1, 3), 1) {
		t.Error("χ² at its edges")
	}
	if !math.IsInf(stats.NormalPPF(0), -1) || stats.NormalPPF(0.5) != 0 {
		t.Error("normal quantile at its edges")
	}
}
