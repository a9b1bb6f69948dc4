package config

import (
	"slices"
	"strconv"
	"strings"
)

// BuiltinFunction is the function target of Wharf's own endpoints.
const BuiltinFunction = "api"

// BuiltinPrefixes returns the path prefixes Wharf serves itself on every
// host (the gateway adds routes for them to its functions unless the config
// has routes there): the API (/api/, which includes artifact uploads and
// downloads under /api/v1/apps/), functions (/fn/), the console, and the
// paths of Apollo's config client protocol.
func BuiltinPrefixes() []string {
	return []string{"/api/", "/fn/", "/console/", "/configs/", "/configfiles/", "/notifications/v2", "/services/config"}
}

// BuiltinRouteNames returns the names of the routes the gateway adds for
// the built-in prefixes (see gateway/snapshot.go); bans may name them.
func BuiltinRouteNames() []string {
	return []string{"wharf-api", "wharf-fn", "wharf-artifacts", "wharf-push", "wharf-configs", "wharf-configfiles", "wharf-notifications", "wharf-services"}
}

// UploadMaxBody is the body limit of the built-in artifact upload route
// (/api/v1/apps/); configure a route for that path to change it.
const UploadMaxBody = 8 << 30

// BuiltinRoutes are the routes the gateway adds for the built-in prefixes
// when the config has no route with the same name, or with no host and the
// same path: the admin API and functions must be reachable on a fresh node.
func BuiltinRoutes() []RouteConfig {
	return []RouteConfig{
		{Name: "wharf-api", Path: "/api/", Function: BuiltinFunction},
		{Name: "wharf-fn", Path: "/fn/", Function: BuiltinFunction},
		// Artifact bundles are pushed here; they stream to storage.
		{Name: "wharf-artifacts", Path: "/api/v1/apps/", Function: BuiltinFunction, MaxBody: UploadMaxBody},
		// Open-Falcon agents and scripts push metrics here, unchanged.
		{Name: "wharf-push", Path: "/v1/push", Function: BuiltinFunction},
		// Apollo's config clients, unchanged (functions/config).
		{Name: "wharf-configs", Path: "/configs/", Function: BuiltinFunction},
		{Name: "wharf-configfiles", Path: "/configfiles/", Function: BuiltinFunction},
		{Name: "wharf-notifications", Path: "/notifications/v2", Function: BuiltinFunction},
		{Name: "wharf-services", Path: "/services/config", Function: BuiltinFunction},
	}
}

// ActiveBuiltinRoutes are the BuiltinRoutes that routes leave in place
// (the gateway's rule: a route with the same name, or with no host and the
// same path, replaces a built-in one).
func ActiveBuiltinRoutes(routes []RouteConfig) []RouteConfig {
	var out []RouteConfig
	for _, b := range BuiltinRoutes() {
		if !slices.ContainsFunc(routes, func(r RouteConfig) bool { return r.Host == "" && r.Path == b.Path || r.Name == b.Name }) {
			out = append(out, b)
		}
	}
	return out
}

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
