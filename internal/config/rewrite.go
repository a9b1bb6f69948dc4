package config

import "strings"

// How a route's path matches a request path (RouteConfig.Match).
const (
	// MatchPrefix (the default, also for "") matches byte prefixes like
	// nginx prefix locations and Kong: "/shop" matches "/shopping".
	MatchPrefix = "prefix"
	// MatchSegment matches on a path segment boundary: "/shop" matches
	// "/shop", "/shop/" and "/shop/x" but not "/shopping".
	MatchSegment = "segment"
)

// RewriteConfig replaces the part of the request path that matched the
// route's path with Prefix before the request is proxied, like nginx's
// proxy_pass with a URI. The gateway's route package checks Prefix's syntax
// (route.CheckPrefix) when the edge config is validated.
type RewriteConfig struct {
	Prefix string `yaml:"prefix" json:"prefix"`
}

// RewritePrefix returns the prefix that replaces the matched route path
// upstream, and whether the route rewrites at all: strip_prefix is the
// rewrite to "/".
func (r RouteConfig) RewritePrefix() (string, bool) {
	switch {
	case r.Rewrite != nil:
		return r.Rewrite.Prefix, true
	case r.StripPrefix:
		return "/", true
	}
	return "", false
}

// SegmentMatch reports whether the route's path matches on segment
// boundaries only.
func (r RouteConfig) SegmentMatch() bool { return r.Match == MatchSegment }

// validateRewrite checks match, strip_prefix and rewrite on their own.
func (r RouteConfig) validateRewrite(field string) []error {
	var errs []error
	bad := func(sub, format string, args ...any) { errs = append(errs, fieldErr(field+"."+sub, format, args...)) }
	if r.Match != "" && r.Match != MatchPrefix && r.Match != MatchSegment {
		bad("match", "must be prefix or segment, got %q", r.Match)
	}
	if r.Service == "" && r.Function != "" {
		// Functions route by the path they were called with.
		if r.StripPrefix {
			bad("strip_prefix", "only routes to a service can change the upstream path; function %q sees the request's path", r.Function)
		}
		if r.Rewrite != nil {
			bad("rewrite", "only routes to a service can change the upstream path; function %q sees the request's path", r.Function)
		}
		if r.PassRawPath {
			bad("pass_raw_path", "only routes to a service send a path upstream; function %q sees the normalized path", r.Function)
		}
		return errs
	}
	if r.PassRawPath && (r.StripPrefix || r.Rewrite != nil) {
		bad("pass_raw_path", "cannot be set together with strip_prefix or rewrite (a rewritten path is always normalized when it has to be)")
	}
	if r.Rewrite == nil {
		return errs
	}
	if r.StripPrefix {
		bad("strip_prefix", "cannot be set together with rewrite (strip_prefix: true is rewrite: {prefix: /})")
	}
	switch p := r.Rewrite.Prefix; {
	case p == "":
		bad("rewrite.prefix", "is required, e.g. /new/ (or / to strip the route's path)")
	case !strings.HasPrefix(p, "/"):
		bad("rewrite.prefix", "must start with /, got %q", p)
	}
	return errs
}
