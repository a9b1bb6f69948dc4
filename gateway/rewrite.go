package gateway

import (
	"fmt"

	"github.com/wharfhq/wharf/gateway/route"
	"github.com/wharfhq/wharf/internal/config"
)

// newRewrite returns the path rewrite of a route to a service (strip_prefix
// or rewrite.prefix), nil when it has none.
func newRewrite(r config.RouteConfig) (*route.Rewrite, error) {
	p, ok := r.RewritePrefix()
	if !ok {
		return nil, nil
	}
	rw, err := route.NewRewrite(r.Path, p)
	if err != nil {
		return nil, fmt.Errorf("rewrite.prefix: %w", err)
	}
	return rw, nil
}
