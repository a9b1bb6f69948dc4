package stats

import (
	"errors"
	"math"
)

// ErrBadCounts is returned for successes outside [0, units] or units < 1.
var ErrBadCounts = errors.New("successes must lie between 0 and the number of units, and every arm needs a unit")

// ProportionComparison is a treatment's conversion rate against the
// control's.
type ProportionComparison struct {
	// Control and Treatment are the rates successes/units.
	Control   float64 `json:"control"`
	Treatment float64 `json:"treatment"`
	// Diff is Treatment − Control and DiffCI its Wald interval
	// (Diff ± z(1−α/2)·sqrt(pc(1−pc)/nc + pt(1−pt)/nt)).
	Diff   float64    `json:"diff"`
	DiffCI [2]float64 `json:"diff_ci"`
	// Z is the pooled two-proportion z statistic and PValue its two-sided
	// p-value (the same p as Pearson's χ² on the 2×2 table without
	// continuity correction, scipy's chi2_contingency(correction=False)).
	Z      float64 `json:"z"`
	PValue float64 `json:"p_value"`
	// Lift is Diff / Control with its delta-method interval on the normal
	// quantile; zero when Control is 0.
	Lift   float64    `json:"lift"`
	LiftCI [2]float64 `json:"lift_ci"`
}

// TwoProportions tests successes out of units in the control and the
// treatment at confidence level 1 − alpha.
func TwoProportions(controlSuccesses, controlUnits, treatmentSuccesses, treatmentUnits int, alpha float64) (ProportionComparison, error) {
	if controlUnits < 1 || treatmentUnits < 1 || controlSuccesses < 0 || treatmentSuccesses < 0 ||
		controlSuccesses > controlUnits || treatmentSuccesses > treatmentUnits {
		return ProportionComparison{}, ErrBadCounts
	}
	nc, nt := float64(controlUnits), float64(treatmentUnits)
	pc, pt := float64(controlSuccesses)/nc, float64(treatmentSuccesses)/nt
	r := ProportionComparison{Control: pc, Treatment: pt, Diff: pt - pc}
	pooled := float64(controlSuccesses+treatmentSuccesses) / (nc + nt)
	if se0 := math.Sqrt(pooled * (1 - pooled) * (1/nc + 1/nt)); se0 > 0 {
		r.Z = r.Diff / se0
		r.PValue = 2 * NormalSF(math.Abs(r.Z))
	} else {
		r.PValue = 1
	}
	z := NormalPPF(1 - alpha/2)
	vc, vt := pc*(1-pc)/nc, pt*(1-pt)/nt
	se := math.Sqrt(vc + vt)
	r.DiffCI = [2]float64{r.Diff - z*se, r.Diff + z*se}
	if pc > 0 {
		r.Lift = r.Diff / pc
		pc2 := pc * pc
		lse := math.Sqrt(vt/pc2 + vc*pt*pt/(pc2*pc2))
		r.LiftCI = [2]float64{r.Lift - z*lse, r.Lift + z*lse}
	}
	return r, nil
}
