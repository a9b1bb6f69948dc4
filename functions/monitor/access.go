package monitor

import (
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/monitoring/strategy"
)

// Read access to series. An admin token reads every series. A token with
// team:X reads the series whose tags hold one of OwnerTags with the value
// X — what Wharf's self-feed pushes for X's gateway service
// (service=X), X's app instances (app=X), and what a team's own pushes
// carry (team=X). Every other series (hosts, other teams) is admin-only.
// The same rule binds a team's strategies: their tag filter must hold an
// owner tag with the strategy's team, so neither a backtest nor the
// left values of alarm events read a series the team could not query.

// ownerTagsText names the owner tags (isOwnerTag) for messages.
const ownerTagsText = "service=, app= or team="

// readers admits to h the tokens that may read some series (readCaller).
func readers(h func(*fnapi.Request) error) func(*fnapi.Request) error {
	return func(r *fnapi.Request) error {
		if err := readCaller(r.Principal); err != nil {
			return err
		}
		return h(r)
	}
}

// readCaller refuses a token that can read no series at all (agent,
// ingest): 403, whatever the series.
func readCaller(p auth.Principal) error {
	if p.IsAdmin() || len(p.Teams()) > 0 {
		return nil
	}
	return httperr.Forbidden("token %q lacks scope to read metrics: need admin or team:<name>", p.Name)
}

// readable returns the test of series tags ("k=v,..." as stored) for p:
// nil when p reads everything.
func readable(p auth.Principal) func(tags string) bool {
	if p.IsAdmin() {
		return nil
	}
	return func(tags string) bool { return ownedBy(p, tags) }
}

// ownedBy reports whether tags ("k=v,...") hold an owner tag naming one
// of p's teams.
func ownedBy(p auth.Principal, tags string) bool {
	for tags != "" {
		var kv string
		kv, tags, _ = strings.Cut(tags, ",")
		k, v, ok := strings.Cut(kv, "=")
		if ok && v != "" && isOwnerTag(k) && p.Allows(auth.TeamScope(v)) {
			return true
		}
	}
	return false
}

// isOwnerTag reports whether k is a tag key that gives a team read
// access to a series: service, app or team.
func isOwnerTag(k string) bool {
	switch k {
	case "service", "app", "team":
		return true
	}
	return false
}

// canRead is the 403 of a query for a series p may not read (tags
// canonical), naming it; nil when p may.
func canRead(p auth.Principal, ref SeriesRef) error {
	if p.IsAdmin() || ownedBy(p, ref.Tags) {
		return nil
	}
	return httperr.Forbidden("token %q may not read series %s: a team reads series tagged %s<team>", p.Name,
		strconv.Quote(ref.Endpoint+"/"+ref.Metric+tagSuffix(ref.Tags)), ownerTagsText)
}

func tagSuffix(tags string) string {
	if tags == "" {
		return ""
	}
	return "/" + tags
}

// boundToTeam checks that a strategy a team token writes or replays
// judges only series of its team: its tags (or its expression's) hold an
// owner tag with the strategy's team. Admin tokens are unrestricted.
func boundToTeam(p auth.Principal, c *strategy.Compiled) error {
	if p.IsAdmin() {
		return nil
	}
	team := c.Source.Team
	for _, t := range c.Tags {
		if isOwnerTag(t.Key) && t.Value == team && team != "" {
			return nil
		}
	}
	field := "tags"
	if c.Source.Expression != "" {
		field = "expression"
	}
	return &strategy.FieldError{Field: field, Msg: "must hold " + "service=" + team + ", app=" + team + " or team=" + team +
		": a team's strategy judges only its team's series"}
}
