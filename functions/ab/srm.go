package ab

import "github.com/wharfhq/wharf/functions/ab/stats"

// SRMThreshold is the p-value below which a split is flagged.
const SRMThreshold = 0.001

// SRMMinUnits is how many exposures an experiment needs before its
// split is checked.
const SRMMinUnits = 100

// SRM is the live sample-ratio check of an experiment: Pearson's χ² of
// the exposures per variation against the configured weights.
type SRM struct {
	ChiSquare float64 `json:"chi_square"`
	P         float64 `json:"p"`
	Exposures int64   `json:"exposures"`
	// Flagged is set when p < 0.001 with at least SRMMinUnits exposures:
	// the split is broken, the results are not to be trusted.
	Flagged bool `json:"flagged"`
}

// checkSRM computes SRM for counts against weights.
func checkSRM(counts []int64, weights []float64) SRM {
	var s SRM
	for _, c := range counts {
		s.Exposures += c
	}
	if s.Exposures == 0 {
		s.P = 1
		return s
	}
	obs := make([]float64, len(counts))
	for i, c := range counts {
		obs[i] = float64(c)
	}
	r := stats.CheckSRM(obs, weights)
	s.ChiSquare, s.P = r.ChiSquare, r.PValue
	s.Flagged = s.Exposures >= SRMMinUnits && s.P < SRMThreshold
	return s
}
