package roomswitch

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/wharfhq/wharf/gateway/edge"
	"github.com/wharfhq/wharf/gateway/rooms"
	"github.com/wharfhq/wharf/internal/config"
)

// errSameWeights: the policy already has a switch's final weights.
var errSameWeights = errors.New("room weights unchanged")

// ToPolicy is the Options.OnDone of a gateway: it writes a finished
// switch's final weights into its service's room policy in the edge
// document (a versioned change by the switch's author). It is idempotent:
// a policy that already has them is left alone.
func ToPolicy(e *edge.Store) func(ctx context.Context, rec rooms.Record) error {
	return func(ctx context.Context, rec rooms.Record) error {
		_, err := e.Update(ctx, rec.Who, fmt.Sprintf("room switch %s of %s done", rec.ID, rec.Service), func(ec *config.Edge) error {
			for i := range ec.Services {
				s := &ec.Services[i]
				if s.Name != rec.Service {
					continue
				}
				if s.Rooms == nil {
					s.Rooms = &config.RoomsConfig{}
				}
				if maps.Equal(s.Rooms.Weights, rec.To) {
					return errSameWeights
				}
				s.Rooms.Weights = maps.Clone(rec.To)
				return nil
			}
			return fmt.Errorf("service %s is not in the edge config", rec.Service)
		})
		if errors.Is(err, errSameWeights) {
			return nil
		}
		return err
	}
}
