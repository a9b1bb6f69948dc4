package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"

	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/adminapi"
	"github.com/wharfhq/wharf/gateway/registry"
	"github.com/wharfhq/wharf/internal/auth"
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
	// deps are the gateway's store-backed parts, built once by wireEdge
	// and shared by the admin API and the gateway (startGateway).
	deps gateway.Deps
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

// wireEdge seeds the edge config from the file and flags when the store has
// none (see edge.Store.Seed), warns when they differ from the stored one
// (which is kept), and registers the gateway admin API on mux.
func (b *base) wireEdge(ctx context.Context, st store.Store, mux *fnapi.Mux) (*lateStats, error) {
	deps, err := gateway.NewDeps(st, gateway.DepsOptions{IPv6Prefix: b.opts.Gateway.IPv6Prefix, Logger: logging.Component(b.log, "gateway")})
	if err != nil {
		return nil, err
	}
	es := deps.Edge
	start := &adminapi.StartFile{Path: b.configFile, Edge: b.opts.Edge()}
	source := "seed:flags"
	if b.configFile != "" {
		source = "seed:" + b.configFile
		if abs, err := filepath.Abs(b.configFile); err == nil {
			start.Path = abs // the apply hint works from any directory
		}
	}
	res, err := es.Seed(ctx, start.Edge, source)
	if err != nil {
		return nil, fmt.Errorf("cannot load the edge config: %w", err)
	}
	d := res.Doc
	switch {
	case res.Seeded:
		b.log.Info("edge config seeded from the config file and flags", "version", d.Version, "source", source, "routes", len(d.Routes))
	case res.Diff.Empty():
		b.log.Info("serving the stored edge config", "version", d.Version, "updated_by", d.UpdatedBy)
	default:
		b.log.Warn("the edge config of the config file and flags differs from the stored one; serving the stored one (a start never overwrites it)",
			"version", d.Version, "updated_by", d.UpdatedBy, "updated_at", d.UpdatedAt, "file", b.configFile,
			"differences", res.Diff.Summary(), "apply_with", adminapi.ApplyCommand(start.Path))
	}
	guard, err := b.lockoutGuard()
	if err != nil {
		return nil, err
	}
	stats := &lateStats{deps: deps}
	fn, err := adminapi.New(adminapi.Options{Edge: es, Bans: deps.BanManager, Registry: registry.New(st, registry.Options{}),
		Hosts: tenancy.New(st, tenancy.Options{}), Stats: stats, Switches: deps.Switches, Rooms: stats, File: start,
		ClientIP: guard.clientIP, Protected: guard.protected, Logger: logging.Component(b.log, "adminapi")})
	if err != nil {
		return nil, err
	}
	if err := mux.Register(fn); err != nil {
		return nil, err
	}
	b.ops.Handle("POST /admin/unlock", fn.UnlockHandler(auth.NewService(st)))
	return stats, nil
}
