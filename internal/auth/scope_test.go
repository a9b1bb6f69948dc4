package auth

import (
	"slices"
	"strings"
	"testing"
)

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"shop", true},
		{"a", true},
		{"0", true},
		{"9lives", true},
		{"team-a", true},
		{"team_a", true},
		{"a-", true},
		{"a_", true},
		{"a--b__c", true},
		{strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), false},
		{"", false},
		{"-a", false},
		{"_a", false},
		{"Shop", false},
		{"SHOP", false},
		{"shop!", false},
		{"Shop!", false},
		{"sh op", false},
		{" shop", false},
		{"shop ", false},
		{"shop.com", false},
		{"team:shop", false},
		{"a/b", false},
		{"é", false},
		{"a\x00", false},
		{"a\n", false},
	}
	for _, tt := range tests {
		if got := ValidName(tt.name); got != tt.ok {
			t.Errorf("ValidName(%q) = %v, want %v", tt.name, got, tt.ok)
		}
	}
}

func TestValidateScope(t *testing.T) {
	tests := []struct {
		scope   string
		wantErr string // substring of the error; "" means valid
	}{
		{"admin", ""},
		{"agent", ""},
		{"ingest", ""},
		{"team:shop", ""},
		{"team:a-b_c", ""},
		{"team:" + strings.Repeat("x", 63), ""},
		{"", "unknown scope"},
		{"root", `unknown scope "root"`},
		{"Admin", "unknown scope"},
		{"admin ", "unknown scope"},
		{" admin", "unknown scope"},
		{"team", "unknown scope"},
		{"teams:shop", "unknown scope"},
		{"TEAM:shop", "unknown scope"},
		{"team:", `invalid team name ""`},
		{"team:Shop!", `invalid team name "Shop!"`},
		{"team:-shop", "invalid team name"},
		{"team:shop:x", "invalid team name"},
		{"team:" + strings.Repeat("x", 64), "invalid team name"},
	}
	for _, tt := range tests {
		err := ValidateScope(tt.scope)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ValidateScope(%q) = %v, want nil", tt.scope, err)
		case tt.wantErr != "" && err == nil:
			t.Errorf("ValidateScope(%q) = nil, want error containing %q", tt.scope, tt.wantErr)
		case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
			t.Errorf("ValidateScope(%q) = %q, want it to contain %q", tt.scope, err, tt.wantErr)
		}
	}
}

func TestTeamScope(t *testing.T) {
	if got := TeamScope("shop"); got != "team:shop" {
		t.Fatalf("TeamScope = %q", got)
	}
	if err := ValidateScope(TeamScope("shop")); err != nil {
		t.Fatal(err)
	}
}

func TestPrincipalAllows(t *testing.T) {
	admin := Principal{Name: "root", Scopes: []string{ScopeAdmin}}
	shop := Principal{Name: "shop", Scopes: []string{TeamScope("shop")}}
	multi := Principal{Name: "ci", Scopes: []string{ScopeAgent, TeamScope("blog"), TeamScope("shop")}}
	none := Principal{Name: "empty"}

	tests := []struct {
		name     string
		p        Principal
		required []string
		want     bool
	}{
		{"admin no requirement", admin, nil, true},
		{"admin needs admin", admin, []string{ScopeAdmin}, true},
		{"admin implies team", admin, []string{TeamScope("shop")}, true},
		{"admin implies agent", admin, []string{ScopeAgent}, true},
		{"admin implies ingest", admin, []string{ScopeIngest}, true},
		{"admin implies unknown team", admin, []string{TeamScope("nobody")}, true},
		{"team no requirement", shop, nil, true},
		{"team empty requirement", shop, []string{}, true},
		{"team own team", shop, []string{TeamScope("shop")}, true},
		{"team other team", shop, []string{TeamScope("blog")}, false},
		{"team is not admin", shop, []string{ScopeAdmin}, false},
		{"team is not agent", shop, []string{ScopeAgent}, false},
		{"team one of several", shop, []string{ScopeAdmin, TeamScope("shop")}, true},
		{"team none of several", shop, []string{ScopeAdmin, TeamScope("blog")}, false},
		{"team name is not a scope", shop, []string{"shop"}, false},
		{"multi agent", multi, []string{ScopeAgent}, true},
		{"multi second team", multi, []string{TeamScope("shop")}, true},
		{"multi not ingest", multi, []string{ScopeIngest}, false},
		{"no scopes no requirement", none, nil, true},
		{"no scopes any requirement", none, []string{ScopeIngest}, false},
	}
	for _, tt := range tests {
		if got := tt.p.Allows(tt.required...); got != tt.want {
			t.Errorf("%s: %v.Allows(%q) = %v, want %v", tt.name, tt.p.Scopes, tt.required, got, tt.want)
		}
	}
}

func TestPrincipalIsAdminAndTeams(t *testing.T) {
	p := Principal{Scopes: []string{ScopeAgent, TeamScope("blog"), TeamScope("shop")}}
	if p.IsAdmin() {
		t.Fatal("non-admin reported as admin")
	}
	if got := p.Teams(); !slices.Equal(got, []string{"blog", "shop"}) {
		t.Fatalf("Teams = %q", got)
	}
	if !(Principal{Scopes: []string{TeamScope("x"), ScopeAdmin}}).IsAdmin() {
		t.Fatal("admin not reported as admin")
	}
	if got := (Principal{Scopes: []string{ScopeAdmin}}).Teams(); len(got) != 0 {
		t.Fatalf("admin Teams = %q, want none", got)
	}
}
