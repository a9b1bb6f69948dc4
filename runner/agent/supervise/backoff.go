package supervise

import (
	"fmt"
	"math"
	"time"
)

// withDefaults validates b and fills its zero fields.
func (b BackoffOptions) withDefaults() (BackoffOptions, error) {
	if b.Min < 0 || b.Max < 0 || b.Factor < 0 || b.ResetAfter < 0 {
		return b, fmt.Errorf("negative back-off option in %+v", b)
	}
	if b.Min == 0 {
		b.Min = DefaultBackoffMin
	}
	if b.Max == 0 {
		b.Max = max(DefaultBackoffMax, b.Min)
	}
	if b.Factor == 0 {
		b.Factor = DefaultBackoffFactor
	}
	if b.ResetAfter == 0 {
		b.ResetAfter = DefaultBackoffResetAfter
	}
	if b.Max < b.Min {
		return b, fmt.Errorf("back-off max %s below min %s", b.Max, b.Min)
	}
	if b.Factor < 1 {
		return b, fmt.Errorf("back-off factor %g below 1", b.Factor)
	}
	return b, nil
}

// delay returns the wait before the restart that follows the n-th
// consecutive crash (n >= 1): Min*Factor^(n-1), capped at Max.
func (b BackoffOptions) delay(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := float64(b.Min) * math.Pow(b.Factor, float64(n-1))
	if math.IsInf(d, 0) || math.IsNaN(d) || d >= float64(b.Max) {
		return b.Max
	}
	return time.Duration(d)
}
