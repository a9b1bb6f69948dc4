package tenancy

import (
	"context"

	"github.com/wharfhq/wharf/internal/httperr"
)

// Reservation says whether a service name is taken by an admin: Reserved
// when the edge config defines a service of that name or the registry has
// live instances of it; Team is the team an admin granted the name to
// (the edge config's services[].team), if any.
type Reservation struct {
	Reserved bool
	Team     string
}

// Reservations tells whether an app name is a service an admin defined.
// The gateway side implements it (it reads the edge config and the
// registry); functions/artifacts asks it before the first push claims an
// app.
type Reservations interface {
	Reservation(ctx context.Context, name string) (Reservation, error)
}

// CheckClaim decides whether team may claim app given the service
// reservation of its name: a reserved name may be claimed only by the team
// named like it or by the team it was granted to (a 409 otherwise).
func CheckClaim(app, team string, r Reservation) error {
	if !r.Reserved || team == app || (r.Team != "" && team == r.Team) {
		return nil
	}
	return httperr.Conflict("app name %q is reserved: a service of that name is defined by an admin (edge config or registry); "+
		"an admin can grant it to a team with the service's \"team\" field", app)
}
