package strategy

import (
	"errors"
	"fmt"
	"strings"
)

// Expression is a parsed Open-Falcon expression, "each(metric=qps
// project=falcon)": the metric, the tags a point must carry, and the
// endpoint it must come from when the expression names one
// ("endpoint=web-1", compared with the point's endpoint, as Falcon does).
type Expression struct {
	Metric   string
	Endpoint string
	Tags     map[string]string
}

// ParseExpression reads "each(k=v k=v ...)": blank-separated key=value
// pairs, metric required, at least one other pair (Falcon's rule), no key
// twice, and no '=', ',' or blank inside a key or value.
func ParseExpression(s string) (Expression, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "each(") || !strings.HasSuffix(s, ")") {
		return Expression{}, fmt.Errorf("%q is not each(metric=NAME key=value ...)", s)
	}
	fields := strings.Fields(s[len("each(") : len(s)-1])
	if len(fields) < 2 {
		return Expression{}, errors.New("needs metric=NAME and at least one key=value, e.g. each(metric=qps project=falcon)")
	}
	e := Expression{Tags: map[string]string{}}
	seen := map[string]bool{}
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" || v == "" || strings.ContainsAny(v, "=,") || strings.ContainsAny(k, ",()") || strings.ContainsAny(v, "()") {
			return Expression{}, fmt.Errorf("%q is not key=value (no '=', ',' or parentheses inside)", f)
		}
		if seen[k] {
			return Expression{}, fmt.Errorf("key %q appears twice", k)
		}
		seen[k] = true
		switch k {
		case "metric":
			e.Metric = v
		case "endpoint":
			e.Endpoint = v
		default:
			e.Tags[k] = v
		}
	}
	if e.Metric == "" {
		return Expression{}, errors.New("needs metric=NAME, e.g. each(metric=qps project=falcon)")
	}
	return e, nil
}
