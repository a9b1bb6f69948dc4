package edge

import (
	"errors"
	"fmt"
	"strings"

	"github.com/wharfhq/wharf/gateway/ratelimit"
	"github.com/wharfhq/wharf/gateway/rooms"
	"github.com/wharfhq/wharf/gateway/route"
	"github.com/wharfhq/wharf/internal/config"
)

// Validate checks an edge config as a whole: every field on its own (see
// config.Edge.Validate), rate syntax, rewrite prefixes (route.CheckPrefix),
// and references between routes, limits
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
	for i, sc := range e.Services {
		if sc.Rooms == nil {
			continue
		}
		field := fmt.Sprintf("services[%d].rooms", i)
		var fe *rooms.FieldError
		for _, err := range unjoin(rooms.PolicyFromConfig(*sc.Rooms).Validate()) {
			if errors.As(err, &fe) {
				errs = append(errs, &config.FieldError{Field: field + "." + fe.Field, Msg: fe.Msg})
			} else {
				errs = append(errs, &config.FieldError{Field: field, Msg: err.Error()})
			}
		}
	}
	for i, r := range e.Routes {
		if len(r.Limits) > ratelimit.MaxLimits {
			errs = append(errs, &config.FieldError{Field: fmt.Sprintf("routes[%d].limits", i), Msg: fmt.Sprintf("at most %d limits per route, got %d", ratelimit.MaxLimits, len(r.Limits))})
		}
		// An empty or relative prefix, and rewrites of function routes,
		// are reported by e.Validate.
		if p, ok := r.RewritePrefix(); ok && r.Service != "" && strings.HasPrefix(p, "/") {
			if err := route.CheckPrefix(r.Path, p); err != nil {
				errs = append(errs, &config.FieldError{Field: fmt.Sprintf("routes[%d].rewrite.prefix", i), Msg: err.Error()})
			}
		}
	}
	return errors.Join(errs...)
}

// unjoin splits an errors.Join result into its parts; nil gives none.
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
