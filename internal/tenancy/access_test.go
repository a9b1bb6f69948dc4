package tenancy_test

import (
	"errors"
	"testing"

	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/tenancy"
)

func TestAppAccess(t *testing.T) {
	p := func(scopes ...string) auth.Principal { return auth.Principal{Name: "t", Scopes: scopes} }
	admin, shop, other := p(auth.ScopeAdmin), p("team:shop"), p("team:other")
	agent, ingest, both := p(auth.ScopeAgent), p(auth.ScopeIngest), p("team:other", "team:shop")
	tests := []struct {
		name   string
		p      auth.Principal
		owner  string
		write  bool
		status int // 0: allowed
	}{
		{"admin reads", admin, "shop", false, 0},
		{"admin writes", admin, "shop", true, 0},
		{"admin, missing app", admin, "", false, 404},
		{"owner reads", shop, "shop", false, 0},
		{"owner writes", shop, "shop", true, 0},
		{"owner among several teams", both, "shop", true, 0},
		{"other team reads", other, "shop", false, 404},
		{"other team writes", other, "shop", true, 404},
		{"other team, missing app", other, "", false, 404},
		{"agent reads", agent, "shop", false, 0},
		{"agent, missing app", agent, "", false, 404},
		{"agent writes", agent, "shop", true, 403},
		{"agent writes a missing app", agent, "", true, 403},
		{"ingest reads", ingest, "shop", false, 403},
		{"ingest, missing app", ingest, "", false, 403},
		{"ingest writes", ingest, "shop", true, 403},
	}
	for _, tt := range tests {
		err := tenancy.AppAccess(tt.p, "shop", tt.owner, tt.write)
		var he *httperr.Error
		switch {
		case tt.status == 0 && err != nil:
			t.Errorf("%s: %v, want allowed", tt.name, err)
		case tt.status != 0 && (!errors.As(err, &he) || he.Status != tt.status):
			t.Errorf("%s: %v, want %d", tt.name, err, tt.status)
		}
	}
	// Not yours and not there are the same error.
	a, b := tenancy.AppAccess(other, "shop", "shop", false), tenancy.AppAccess(other, "shop", "", false)
	if a.Error() != b.Error() {
		t.Fatalf("%q != %q", a, b)
	}
}

func TestCheckClaim(t *testing.T) {
	free, reserved, granted := tenancy.Reservation{}, tenancy.Reservation{Reserved: true}, tenancy.Reservation{Reserved: true, Team: "pay"}
	for _, tt := range []struct {
		team string
		r    tenancy.Reservation
		ok   bool
	}{
		{"evil", free, true},
		{"evil", reserved, false},
		{"billing", reserved, true}, // the team named like it
		{"evil", granted, false},
		{"pay", granted, true},
		{"billing", granted, true},
	} {
		err := tenancy.CheckClaim("billing", tt.team, tt.r)
		var he *httperr.Error
		if tt.ok != (err == nil) || (err != nil && (!errors.As(err, &he) || he.Status != 409)) {
			t.Errorf("CheckClaim(billing, %s, %+v) = %v, want ok %v", tt.team, tt.r, err, tt.ok)
		}
	}
}
