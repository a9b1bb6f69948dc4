package gateway

import (
	"fmt"

	"github.com/wharfhq/wharf/gateway/route"
	"github.com/wharfhq/wharf/internal/config"
)

// newRewrite returns how a route to a service maps the request path to the
// upstream path: its rewrite (strip_prefix or rewrite.prefix), route.Keep
// of its path when it has none, or nil with pass_raw_path (the client's
// target goes up as sent).
func newRewrite(r config.RouteConfig) (*route.Rewrite, error) {
	p, ok := r.RewritePrefix()
	if !ok {
		if r.PassRawPath {
			return nil, nil
		}
		return route.Keep(r.Path), nil
	}
	rw, err := route.NewRewrite(r.Path, p)
	if err != nil {
		return nil, fmt.Errorf("rewrite.prefix: %w", err)
	}
	return rw, nil
}
