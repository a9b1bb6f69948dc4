package ratelimit

import (
	"errors"
	"fmt"
	"strings"
)

// MaxRequestsPerSecond is the largest N accepted by ParseRate for "Nr/s"
// (and, per minute, for "Nr/m"). It keeps every intermediate product in the
// decision path far away from int64 overflow.
const MaxRequestsPerSecond = 1_000_000_000

// MaxRate is the largest rate, in thousandths of a request per second.
const MaxRate = MaxRequestsPerSecond * 1000

// MaxBurst is the largest burst (and delay) in requests.
const MaxBurst = 1_000_000_000

var errRate = errors.New(`rate must look like "10r/s" or "600r/m"`)

// ParseRate parses an nginx limit_req rate, "Nr/s" or "Nr/m", into thousandths
// of a request per second: "Nr/s" → N*1000, "Nr/m" → N*1000/60 (integer
// division, exactly like nginx, so "1r/m" is 16, i.e. one request per 62.5 s).
// N must be a plain decimal integer in [1, MaxRequestsPerSecond]; no sign, no
// spaces, no fraction.
func ParseRate(s string) (int64, error) {
	var scale int64
	num, ok := strings.CutSuffix(s, "r/s")
	if ok {
		scale = 1
	} else if num, ok = strings.CutSuffix(s, "r/m"); ok {
		scale = 60
	} else {
		return 0, fmt.Errorf("cannot parse rate %q: %w", s, errRate)
	}
	if num == "" {
		return 0, fmt.Errorf("cannot parse rate %q: missing number: %w", s, errRate)
	}
	if num[0] == '-' {
		return 0, fmt.Errorf("cannot parse rate %q: rate must not be negative", s)
	}
	var n int64
	for i := 0; i < len(num); i++ {
		c := num[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("cannot parse rate %q: %q is not a decimal integer: %w", s, num, errRate)
		}
		n = n*10 + int64(c-'0')
		if n > MaxRequestsPerSecond {
			return 0, fmt.Errorf("cannot parse rate %q: rate too large (max %d)", s, MaxRequestsPerSecond)
		}
	}
	if n == 0 {
		return 0, fmt.Errorf("cannot parse rate %q: rate must be positive", s)
	}
	return n * 1000 / scale, nil
}

// FormatRate renders a rate in thousandths of a request per second the way
// nginx would accept it back: "Nr/s" when it is whole, otherwise "Nr/m"
// (rounded to the nearest request per minute).
func FormatRate(rate int64) string {
	if rate%1000 == 0 {
		return fmt.Sprintf("%dr/s", rate/1000)
	}
	return fmt.Sprintf("%dr/m", (rate*60+500)/1000)
}
