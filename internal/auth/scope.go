// Package auth holds Wharf's bearer tokens and scopes: tokens are random,
// stored only as a SHA-256 hash in the store, and carry scopes `admin`,
// `team:<name>`, `agent` and `ingest`. Admin satisfies every requirement.
package auth

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Scope names.
const (
	ScopeAdmin  = "admin"
	ScopeAgent  = "agent"
	ScopeIngest = "ingest"
	// TeamPrefix starts a team scope, e.g. "team:shop".
	TeamPrefix = "team:"
)

// TeamScope returns the scope for a team.
func TeamScope(team string) string { return TeamPrefix + team }

// ValidName reports whether s is a valid team or token name: 1–63 characters
// of lower-case letters, digits, '-' and '_', starting with a letter or digit.
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '-' || c == '_') && i > 0:
		default:
			return false
		}
	}
	return true
}

// ValidateScope returns an error naming what is wrong with a scope string.
func ValidateScope(s string) error {
	switch s {
	case ScopeAdmin, ScopeAgent, ScopeIngest:
		return nil
	}
	if team, ok := strings.CutPrefix(s, TeamPrefix); ok {
		if !ValidName(team) {
			return fmt.Errorf("invalid team name %q in scope %q: use 1-63 of a-z, 0-9, '-', '_'", team, s)
		}
		return nil
	}
	return fmt.Errorf("unknown scope %q: want admin, agent, ingest or team:<name>", s)
}

// Principal is who a request acts as.
type Principal struct {
	TokenID string   `json:"id"`
	Name    string   `json:"name"`
	Scopes  []string `json:"scopes"`
	// Expires is when the token's record expires in the store (zero:
	// never); callers that keep a check must not use it past this.
	Expires time.Time `json:"-"`
}

// IsAdmin reports whether the principal has the admin scope.
func (p Principal) IsAdmin() bool { return slices.Contains(p.Scopes, ScopeAdmin) }

// Allows reports whether the principal holds any one of the required scopes;
// admin holds them all. An empty requirement admits any authenticated principal.
func (p Principal) Allows(required ...string) bool {
	if len(required) == 0 || p.IsAdmin() {
		return true
	}
	for _, r := range required {
		if slices.Contains(p.Scopes, r) {
			return true
		}
	}
	return false
}

// Teams returns the team names the principal holds scopes for.
func (p Principal) Teams() []string {
	var teams []string
	for _, s := range p.Scopes {
		if t, ok := strings.CutPrefix(s, TeamPrefix); ok {
			teams = append(teams, t)
		}
	}
	return teams
}
