// Package tenancy holds who owns what across Wharf's functions: the rule
// that decides whether a token may act on a team's app (access.go), the
// apps' owners (owners.go), the binding of deploy hosts to the agent token
// that registered them and the placements of apps on hosts (hosts.go), and
// the reservation of service names that an admin defined (reserve.go).
//
// The rules, in one place:
//   - An app (and the service of the same name that its deploys register)
//     belongs to the team that claimed it with its first push. A service
//     name an admin defined (in the edge config or with live registry
//     instances) is reserved: only the team named like it, or the team an
//     admin granted it to (services[].team), may claim the app of that name.
//   - A token that may not see an app gets the same 404 "app ... not found"
//     whether the app exists or not.
//   - A deploy host id belongs to the agent token that first sent its
//     heartbeat, until an admin releases it or that token is revoked.
//   - A deploy records its targets as placements of the app. An agent token
//     reads, registers and lists only the apps placed on its own hosts, on
//     those hosts' advertised address, and never over another host's
//     registration.
package tenancy

import (
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/httperr"
)

// NotFound is the answer for an app that does not exist or that the caller
// may not see: the same status and body either way.
func NotFound(app string) *httperr.Error {
	return httperr.NotFound("app %q not found", app)
}

// AppAccess decides whether p may act on app, whose owning team is owner
// ("" when the app was never pushed). write is push, deploy, control or
// delete (admin and team:<owner>); otherwise reading, which agent tokens may
// do too. A token whose scopes can never reach any app that way (ingest, or
// an agent token asking to write) gets a 403 that does not depend on the
// app; every other refusal is NotFound, exactly like a missing app, so that
// a team cannot learn the names of other teams' apps.
func AppAccess(p auth.Principal, app, owner string, write bool) error {
	if p.IsAdmin() {
		if owner == "" {
			return NotFound(app)
		}
		return nil
	}
	teams := p.Teams()
	agent := !write && p.Allows(auth.ScopeAgent)
	if len(teams) == 0 && !agent {
		if write {
			return httperr.Forbidden("token %q lacks scope for app %q: need admin or the scope of the team that owns it", p.Name, app)
		}
		return httperr.Forbidden("token %q lacks scope for app %q: need admin, agent or the scope of the team that owns it", p.Name, app)
	}
	if owner == "" {
		return NotFound(app)
	}
	if agent || p.Allows(auth.TeamScope(owner)) {
		return nil
	}
	return NotFound(app)
}
