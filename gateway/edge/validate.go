package edge

import (
	"errors"
	"fmt"

	"github.com/wharfhq/wharf/gateway/ratelimit"
	"github.com/wharfhq/wharf/internal/config"
)

// Validate checks an edge config as a whole: every field on its own (see
// config.Edge.Validate), rate syntax, and references between routes, limits
// and services. Errors are *config.FieldError values joined together, each
// naming its field, e.g. "limits[0].rate: ...".
func Validate(e config.Edge) error {
	errs := []error{e.Validate()}
	for i, l := range e.Limits {
		if l.Rate == "" || l.Conn > 0 {
			continue // reported by e.Validate
		}
		if _, err := ratelimit.ParseRate(l.Rate); err != nil {
			errs = append(errs, &config.FieldError{Field: fmt.Sprintf("limits[%d].rate", i), Msg: err.Error()})
		}
		if l.Burst > ratelimit.MaxBurst {
			errs = append(errs, &config.FieldError{Field: fmt.Sprintf("limits[%d].burst", i), Msg: fmt.Sprintf("must be at most %d", ratelimit.MaxBurst)})
		}
		if l.Delay > ratelimit.MaxBurst {
			errs = append(errs, &config.FieldError{Field: fmt.Sprintf("limits[%d].delay", i), Msg: fmt.Sprintf("must be at most %d", ratelimit.MaxBurst)})
		}
	}
	for i, r := range e.Routes {
		if len(r.Limits) > ratelimit.MaxLimits {
			errs = append(errs, &config.FieldError{Field: fmt.Sprintf("routes[%d].limits", i), Msg: fmt.Sprintf("at most %d limits per route, got %d", ratelimit.MaxLimits, len(r.Limits))})
		}
	}
	return errors.Join(errs...)
}
