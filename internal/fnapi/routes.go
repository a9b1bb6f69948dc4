package fnapi

import "strings"

// RouteInfo describes one registered route for listings: the API reference
// check and the internal listener's /routes.
type RouteInfo struct {
	Function string `json:"function"`
	Method   string `json:"method"`
	Pattern  string `json:"pattern"`
	// Access is "public", "token" (any valid token; the handler may check
	// more, e.g. the team of an app) or the scopes of which the caller
	// needs one, with parameters shown as {name} ("admin", "team:{team}").
	Access string `json:"access"`
}

// Routes lists the registered routes, in the order they are matched.
func (m *Mux) Routes() []RouteInfo {
	out := make([]RouteInfo, 0, len(m.routes))
	for _, c := range m.routes {
		out = append(out, RouteInfo{Function: c.fn, Method: c.method, Pattern: c.route.Pattern, Access: describeAccess(c.route.Access, c.segments)})
	}
	return out
}

// describeAccess renders a for a route with segments: scopes are asked
// with every parameter set to "{name}".
func describeAccess(a Access, segs []string) string {
	if a.Public {
		return "public"
	}
	if a.Scopes == nil {
		return "token"
	}
	var ps Params
	for _, s := range segs {
		if isParam(s) {
			ps = append(ps, Param{Name: s[1 : len(s)-1], Value: s})
		}
	}
	need := a.Scopes(ps)
	if len(need) == 0 {
		return "token"
	}
	return strings.Join(need, " | ")
}
