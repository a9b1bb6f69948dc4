package adminapi

import (
	"context"
	"fmt"

	"github.com/wharfhq/wharf/gateway/edge"
	"github.com/wharfhq/wharf/gateway/registry"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// serviceReservations reads service reservations from the edge config and
// the registry (see tenancy.Reservations).
type serviceReservations struct {
	edge *edge.Store
	reg  *registry.Registry
}

// NewReservations returns the reservations of service names that the edge
// config (services, with their team grants) and the registry (services
// with live instances) make; functions/artifacts checks them before an
// app's first push claims its name.
func NewReservations(es *edge.Store, reg *registry.Registry) tenancy.Reservations {
	return serviceReservations{edge: es, reg: reg}
}

// Reservation implements tenancy.Reservations.
func (s serviceReservations) Reservation(ctx context.Context, name string) (tenancy.Reservation, error) {
	d, _, err := s.edge.Get(ctx)
	if err != nil {
		return tenancy.Reservation{}, fmt.Errorf("cannot read the edge config: %w", err)
	}
	for _, svc := range d.Services {
		if svc.Name == name {
			return tenancy.Reservation{Reserved: true, Team: svc.Team}, nil
		}
	}
	ins, err := s.reg.List(ctx, name)
	if err != nil {
		return tenancy.Reservation{}, fmt.Errorf("cannot read the registry: %w", err)
	}
	return tenancy.Reservation{Reserved: len(ins) > 0}, nil
}
