// Package stats computes A/B results from per-unit metric values: per
// variation units, mean and variance; Welch's t-test with
// Welch–Satterthwaite degrees of freedom; relative lift with a confidence
// interval by the delta method (GrowthBook's frequentist engine);
// two-proportion tests for binomial metrics; Holm–Bonferroni across
// metrics; boxplot (IQR) trimming and percentile capping; and the sample
// ratio mismatch check (Pearson χ² against the configured split).
//
// It does no I/O. Its distribution functions (Student t, χ², normal) are
// implemented here from the regularized incomplete beta and gamma
// functions, and its side-by-side test checks every number against scipy
// and numpy to 1e-9 relative.
package stats
