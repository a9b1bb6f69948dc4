package alarms

import (
	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
)

// pathTeam is the {team} of a receiver or route path that r may manage:
// one of its teams, or any team (and wire.GlobalTeam) for an admin.
func pathTeam(r *fnapi.Request) (string, error) {
	team := r.Params.Get("team")
	if team != wire.GlobalTeam && !auth.ValidName(team) {
		return "", httperr.BadRequest("team %q is not a valid team name (or %s for the admin's global tree)", team, wire.GlobalTeam)
	}
	if !sees(r.Principal, team) {
		return "", httperr.Forbidden("token %q may not manage the alarms of team %q", r.Principal.Name, team)
	}
	return team, nil
}
