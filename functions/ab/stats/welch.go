package stats

import (
	"errors"
	"math"
)

// ErrTooFewUnits is returned when an arm has fewer than two units, or both
// arms have no variance, so that no test can be made.
var ErrTooFewUnits = errors.New("each variation needs at least two units and some variance")

// Comparison is a treatment variation against the control on one metric.
type Comparison struct {
	// Diff is mean(treatment) − mean(control).
	Diff float64 `json:"diff"`
	// DiffCI is Diff's two-sided confidence interval at the level asked.
	DiffCI [2]float64 `json:"diff_ci"`
	// T is Welch's t statistic, DF its Welch–Satterthwaite degrees of
	// freedom and PValue its two-sided p-value (scipy's
	// ttest_ind(treatment, control, equal_var=False)).
	T      float64 `json:"t"`
	DF     float64 `json:"df"`
	PValue float64 `json:"p_value"`
	// Lift is the relative change Diff / |mean(control)|, LiftSE its
	// standard error by the delta method, LiftCI its confidence interval
	// (Lift ± t(1−α/2, DF)·LiftSE) and LiftPValue the two-sided p-value of
	// Lift/LiftSE against Student's t with DF degrees of freedom, as
	// GrowthBook's frequentist engine computes them. Zero with a control
	// mean of 0.
	Lift       float64    `json:"lift"`
	LiftSE     float64    `json:"lift_se"`
	LiftCI     [2]float64 `json:"lift_ci"`
	LiftPValue float64    `json:"lift_p_value"`
}

// Welch compares treatment with control by Welch's unequal-variances
// t-test at confidence level 1 − alpha (0.05 for 95 %).
func Welch(control, treatment Summary, alpha float64) (Comparison, error) {
	if control.Units < 2 || treatment.Units < 2 {
		return Comparison{}, ErrTooFewUnits
	}
	na, nb := float64(control.Units), float64(treatment.Units)
	va, vb := control.Variance/na, treatment.Variance/nb
	se2 := va + vb
	if se2 <= 0 {
		return Comparison{}, ErrTooFewUnits
	}
	se := math.Sqrt(se2)
	// Welch–Satterthwaite: (va+vb)² / (va²/(na−1) + vb²/(nb−1)).
	df := se2 * se2 / (va*va/(na-1) + vb*vb/(nb-1))
	c := Comparison{Diff: treatment.Mean - control.Mean, DF: df}
	c.T = c.Diff / se
	c.PValue = twoSidedT(c.T, df)
	q := TPPF(1-alpha/2, df)
	c.DiffCI = [2]float64{c.Diff - q*se, c.Diff + q*se}
	if control.Mean != 0 {
		ma, mb := control.Mean, treatment.Mean
		c.Lift = c.Diff / math.Abs(ma)
		// Delta method, GrowthBook's variance_of_ratios with no covariance:
		// var(mb/ma) ≈ vb/ma² + va·mb²/ma⁴.
		ma2 := ma * ma
		c.LiftSE = math.Sqrt(vb/ma2 + va*mb*mb/(ma2*ma2))
		c.LiftCI = [2]float64{c.Lift - q*c.LiftSE, c.Lift + q*c.LiftSE}
		if c.LiftSE > 0 {
			c.LiftPValue = twoSidedT(c.Lift/c.LiftSE, df)
		}
	}
	return c, nil
}

// twoSidedT is P(|T| ≥ |t|) with df degrees of freedom.
func twoSidedT(t, df float64) float64 {
	return 2 * TSF(math.Abs(t), df)
}
