package alarms

import (
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/monitoring/fielderr"
	"github.com/wharfhq/wharf/monitoring/labels"
)

// Access: an admin token reads and changes every case and silence; a
// team token those whose team (the team label of a case, the team of a
// silence) is one of its teams; agent and ingest tokens none (ingest may
// only post alerts). A case or silence of another team answers 404 like
// a missing one, so ids of other teams do not leak.

// readers admits to h the tokens that may read alarms (admin, team).
func readers(h func(*fnapi.Request) error) func(*fnapi.Request) error {
	return func(r *fnapi.Request) error {
		p := r.Principal
		if !p.IsAdmin() && len(p.Teams()) == 0 {
			return httperr.Forbidden("token %q lacks scope for alarms: need admin or team:<name>", p.Name)
		}
		return h(r)
	}
}

// sees reports whether p may see what belongs to team ("" or
// wire.GlobalTeam: admin only).
func sees(p auth.Principal, team string) bool {
	if p.IsAdmin() {
		return true
	}
	return team != "" && team != wire.GlobalTeam && p.Allows(auth.TeamScope(team))
}

// teamOf is the team a label set belongs to: its team label, else
// wire.GlobalTeam.
func teamOf(ls labels.Set) string {
	if t := ls["team"]; t != "" {
		return t
	}
	return wire.GlobalTeam
}

// fieldsBody is the 400 of invalid input: the problems joined and each
// with the field it names.
type fieldsBody struct {
	Error     string           `json:"error"`
	Fields    []fielderr.Error `json:"fields"`
	RequestID string           `json:"request_id,omitempty"`
}

// badFields answers 400 naming every field of l, what prefixes the message.
func badFields(r *fnapi.Request, what string, l fielderr.List) error {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return r.JSON(fasthttp.StatusBadRequest, fieldsBody{Error: what + ": " + strings.Join(parts, "; "), Fields: l, RequestID: r.RequestID})
}

// parseFilters parses the filter= query values (each one matcher or a
// {...} list, as amtool and Alertmanager take them).
func parseFilters(r *fnapi.Request, arg string) (labels.Matchers, error) {
	var all labels.Matchers
	for _, v := range r.Ctx.QueryArgs().PeekMulti(arg) {
		ms, err := labels.ParseMatchers(string(v))
		if err != nil {
			return nil, httperr.BadRequest("%s %q: %v", arg, v, err)
		}
		all = append(all, ms...)
	}
	return all, nil
}

// boolArg reads an Alertmanager boolean query argument (default def).
func boolArg(r *fnapi.Request, name string, def bool) (bool, error) {
	v := string(r.Ctx.QueryArgs().Peek(name))
	switch v {
	case "":
		return def, nil
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, httperr.BadRequest("%s must be true or false, got %q", name, v)
}
