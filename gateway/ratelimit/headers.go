package ratelimit

import (
	"errors"
	"strconv"
)

// Response fields per draft-ietf-httpapi-ratelimit-headers (structured
// fields, RFC 9651). Exact format chosen here:
//
//	RateLimit-Policy: "<name>";q=<quota>;w=<window>
//	RateLimit:        "<name>";r=<remaining>;t=<reset>
//
// Policy: a rate that is a whole number of requests per second is advertised
// as q=N;w=1; anything else as requests per minute, q=round(rate*60/1000);w=60
// ("30r/m" → q=30;w=60, "1r/m" → q=1;w=60, "10r/s" → q=10;w=1). Burst is not
// part of the policy item.
//
// RateLimit, for the limit named in Decision.Limit:
//   - r = requests that would still be admitted (not rejected) right now:
//     floor((burst*1000 - excess)/1000), never negative; 0 after a rejection.
//   - t = whole seconds (rounded up) until the key has drained so far that
//     the full quota (burst+1 immediate requests) is back: (excess+1000)*1000/rate ms.
//
// Retry-After (seconds) comes from Decision.RetryAfterSeconds: time until the
// rejected request would fit within burst again.

func checkName(name string) error {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return errors.New("name must be printable ASCII without '\"' or '\\'")
		}
	}
	return nil
}

func policyItem(name string, rate int64) string {
	q, w := rate/1000, int64(1)
	if rate%1000 != 0 {
		q, w = (rate*60+500)/1000, 60
	}
	return `"` + name + `";q=` + strconv.FormatInt(q, 10) + ";w=" + strconv.FormatInt(w, 10)
}

// PolicyField returns the whole RateLimit-Policy field value of the Set:
// every zone's item in order, comma separated. It is computed once.
func (s *Set) PolicyField() string { return s.policy }

// AppendRateLimit appends the RateLimit field value for d (a decision of this
// Set) to dst. It appends nothing when d.Limit is -1 (all zones skipped). It
// does not allocate when dst has room.
func (s *Set) AppendRateLimit(dst []byte, d Decision) []byte {
	if d.Limit < 0 || d.Limit >= s.n {
		return dst
	}
	return appendRateLimit(dst, s.lims[d.Limit].c, d)
}

// RateLimitField is AppendRateLimit returning a string.
func (s *Set) RateLimitField(d Decision) string {
	return string(s.AppendRateLimit(nil, d))
}

// Policy returns the RateLimit-Policy list item of limit i.
func (l *Limiter) Policy(i int) string { return l.set.zones[i].conf.policy }

// PolicyField returns the whole RateLimit-Policy field value: every limit's
// item, comma separated.
func (l *Limiter) PolicyField() string { return l.set.policy }

// AppendRateLimit appends the RateLimit field value for d to dst. It appends
// nothing when d.Limit is -1 (all limits skipped). It does not allocate when
// dst has room.
func (l *Limiter) AppendRateLimit(dst []byte, d Decision) []byte {
	return l.set.AppendRateLimit(dst, d)
}

// RateLimitField is AppendRateLimit returning a string.
func (l *Limiter) RateLimitField(d Decision) string {
	return string(l.AppendRateLimit(nil, d))
}

func appendRateLimit(dst []byte, c *limitConf, d Decision) []byte {
	excess := d.Excess
	if excess < 0 {
		excess = 0
	}
	rem := (c.burst - excess) / 1000
	if rem < 0 {
		rem = 0
	}
	// The next request computes excess+1000 minus what drained; the full
	// quota is back once that reaches 0, i.e. after (excess+1000)*1000/rate ms.
	reset := ((excess+1000)*1000 + c.Rate - 1) / c.Rate // ms, rounded up
	reset = (reset + 999) / 1000
	dst = append(dst, '"')
	dst = append(dst, c.Name...)
	dst = append(dst, `";r=`...)
	dst = strconv.AppendInt(dst, rem, 10)
	dst = append(dst, ";t="...)
	return strconv.AppendInt(dst, reset, 10)
}
