package config

import (
	"strconv"
	"strings"
)

// BuiltinFunction is the function target of Wharf's own endpoints.
const BuiltinFunction = "api"

// BuiltinPrefixes returns the path prefixes Wharf serves itself on every
// host (the gateway adds routes for them to its functions unless the config
// has routes there): the API (/api/, which includes artifact uploads and
// downloads under /api/v1/apps/), functions (/fn/) and the console.
func BuiltinPrefixes() []string { return []string{"/api/", "/fn/", "/console/"} }

// BuiltinRouteNames returns the names of the routes the gateway adds for
// the built-in prefixes (see gateway/snapshot.go); bans may name them.
func BuiltinRouteNames() []string { return []string{"wharf-api", "wharf-fn", "wharf-artifacts"} }

// ShadowedBuiltin returns the built-in prefix that r takes away from Wharf's
// functions, or "": a route whose path lies under a built-in prefix and
// that goes to a service or another function. Routing a built-in path to
// the "api" function (to add limits or an ACL) shadows nothing.
func ShadowedBuiltin(r RouteConfig) string {
	if r.Service == "" && r.Function == BuiltinFunction {
		return ""
	}
	for _, b := range BuiltinPrefixes() {
		if strings.HasPrefix(r.Path, b) {
			return b
		}
	}
	return ""
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n < 65536 && p[0] != '+'
}
