package main

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/acl"
	"github.com/wharfhq/wharf/gateway/adminapi"
	"github.com/wharfhq/wharf/gateway/edge"
	"github.com/wharfhq/wharf/gateway/registry"
	"github.com/wharfhq/wharf/gateway/roomswitch"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/logging"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// lateStats is the admin API's view of the gateway's counters; the gateway
// is created after the API is registered (it checks that its function routes
// exist), so the pointer is filled in later.
type lateStats struct {
	gw atomic.Pointer[gateway.Gateway]
}

func (l *lateStats) Stats() any {
	if g := l.gw.Load(); g != nil {
		return g.Stats()
	}
	return map[string]string{"state": "starting"}
}

// RoomsStatus is the gateway's live view of a service's rooms, once it runs.
func (l *lateStats) RoomsStatus(service string) (any, bool) {
	if g := l.gw.Load(); g != nil {
		return g.RoomsStatus(service)
	}
	return nil, false
}

// wireEdge seeds the edge config from the file (see edge.Store.Seed) and
// registers the gateway admin API on mux.
func (b *base) wireEdge(ctx context.Context, st store.Store, mux *fnapi.Mux) (*lateStats, error) {
	es := edge.New(st, edge.Options{Logger: logging.Component(b.log, "edge")})
	d, wrote, err := es.Seed(ctx, b.opts.Edge(), "config file")
	if err != nil {
		return nil, fmt.Errorf("cannot load the edge config: %w", err)
	}
	if wrote {
		b.log.Info("edge config seeded from the config file", "version", d.Version, "routes", len(d.Routes))
	} else {
		b.log.Info("edge config unchanged in the file; serving the stored one", "version", d.Version, "updated_by", d.UpdatedBy)
	}
	bans, err := acl.NewBanManager(acl.BanManagerOptions{}, st)
	if err != nil {
		return nil, err
	}
	stats := &lateStats{}
	switches := roomswitch.New(st, roomswitch.Options{Logger: logging.Component(b.log, "rooms"), OnDone: roomswitch.ToPolicy(es)})
	fn, err := adminapi.New(adminapi.Options{Edge: es, Bans: bans, Registry: registry.New(st, registry.Options{}),
		Hosts: tenancy.New(st, tenancy.Options{}), Stats: stats, Switches: switches, Rooms: stats})
	if err != nil {
		return nil, err
	}
	if err := mux.Register(fn); err != nil {
		return nil, err
	}
	return stats, nil
}
