package ab

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/monitoring/fielderr"
)

// Access: an admin token manages and decides for every team; a team token
// for its teams; agent and ingest tokens nothing. A layer or experiment of
// another team answers 404 like a missing one, so names do not leak.

// teams admits to h the tokens that may use the A/B function (admin, team).
func teams(h func(*fnapi.Request) error) func(*fnapi.Request) error {
	return func(r *fnapi.Request) error {
		p := r.Principal
		if !p.IsAdmin() && !hasTeam(p) {
			return httperr.Forbidden("token %q lacks scope for ab: need admin or team:<name>", p.Name)
		}
		return h(r)
	}
}

// hasTeam reports whether p holds a team scope (without allocating).
func hasTeam(p auth.Principal) bool {
	for _, s := range p.Scopes {
		if strings.HasPrefix(s, auth.TeamPrefix) {
			return true
		}
	}
	return false
}

// sees reports whether p may see and change what belongs to team.
func sees(p auth.Principal, team string) bool {
	return p.IsAdmin() || (team != "" && p.Allows(auth.TeamScope(team)))
}

// callerTeam is the team a request acts for: explicit (which p must see),
// else p's only team; field names the input for the 400.
func callerTeam(p auth.Principal, explicit, field string) (string, error) {
	if explicit != "" {
		if !auth.ValidName(explicit) {
			return "", httperr.BadRequest("%s %q is not a valid team name", field, explicit)
		}
		if !sees(p, explicit) {
			return "", httperr.Forbidden("token %q may not use the experiments of team %q", p.Name, explicit)
		}
		return explicit, nil
	}
	var only string
	n := 0
	for _, s := range p.Scopes {
		if t, ok := strings.CutPrefix(s, auth.TeamPrefix); ok {
			only = t
			n++
		}
	}
	if n != 1 {
		return "", httperr.BadRequest("%s is required: the token does not name exactly one team", field)
	}
	return only, nil
}

// pathTeam is the {team} of the path, which r's principal must see; a
// team it does not see answers 404 like a missing name.
func pathTeam(r *fnapi.Request, what string) (string, error) {
	team := r.Params.Get("team")
	if !auth.ValidName(team) {
		return "", httperr.BadRequest("team %q is not a valid team name", team)
	}
	if !sees(r.Principal, team) {
		return "", httperr.NotFound("%s not found", what)
	}
	return team, nil
}

// fieldsBody is the 400 of invalid input: the problems joined, and each
// with the field it names.
type fieldsBody struct {
	Error     string           `json:"error"`
	Fields    []fielderr.Error `json:"fields"`
	RequestID string           `json:"request_id,omitempty"`
}

// badFields answers 400 naming every field of l.
func badFields(r *fnapi.Request, what string, l fielderr.List) error {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return r.JSON(fasthttp.StatusBadRequest, fieldsBody{Error: what + ": " + strings.Join(parts, "; "), Fields: l, RequestID: r.RequestID})
}

// decodeBatch decodes a body of one object or an array of them, at most
// MaxEventsPerRequest: a wrong count answers a 400 naming field (what
// things the array holds) and returns ok false.
func decodeBatch[T any](r *fnapi.Request, field string) (in []T, ok bool, err error) {
	body := bytes.TrimSpace(r.Ctx.PostBody())
	if len(body) > 0 && body[0] == '{' {
		var one T
		if err := r.DecodeJSON(&one); err != nil {
			return nil, false, err
		}
		in = []T{one}
	} else if err := r.DecodeJSON(&in); err != nil {
		return nil, false, err
	}
	if len(in) == 0 || len(in) > MaxEventsPerRequest {
		return nil, false, badFields(r, "invalid "+field, fielderr.List{{Field: field, Msg: fmt.Sprintf("give 1-%d %s", MaxEventsPerRequest, field)}})
	}
	return in, true, nil
}
