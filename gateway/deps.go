package gateway

import (
	"fmt"
	"log/slog"

	"github.com/wharfhq/wharf/gateway/acl"
	"github.com/wharfhq/wharf/gateway/edge"
	"github.com/wharfhq/wharf/gateway/registry"
	"github.com/wharfhq/wharf/gateway/roomswitch"
	"github.com/wharfhq/wharf/internal/store"
)

// Deps are the store-backed parts a gateway follows and writes. The
// process builds them once (NewDeps) and shares them with whatever else
// uses them, such as the admin API; the gateway runs the followers (Bans,
// Follower, Edge's watch) until Shutdown. One Deps serves one gateway: the
// followers have one runner and the Follower notifies one gateway.
type Deps struct {
	// Edge holds the edge config document.
	Edge *edge.Store
	// Bans are the bans requests are checked against.
	Bans *acl.BanSet
	// BanManager places bans (the gateway's auto bans, the admin API's).
	BanManager *acl.BanManager
	// Switches are the rooms' traffic switches.
	Switches *roomswitch.Store
	// Follower follows the instance registry; the gateway gets its
	// snapshots (Follower.Notify).
	Follower *registry.Follower
}

// DepsOptions configures NewDeps.
type DepsOptions struct {
	// IPv6Prefix aggregates IPv6 clients in bans (default 64), as
	// Options.IPv6Prefix.
	IPv6Prefix int
	Logger     *slog.Logger
}

// NewDeps builds every dependency over st.
func NewDeps(st store.Store, opts DepsOptions) (Deps, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var d Deps
	d.Edge = edge.New(st, edge.Options{Logger: log})
	d.Switches = roomswitch.New(st, roomswitch.Options{Logger: log, OnDone: roomswitch.ToPolicy(d.Edge)})
	mgr, err := acl.NewBanManager(acl.BanManagerOptions{IPv6Prefix: opts.IPv6Prefix}, st)
	if err != nil {
		return Deps{}, fmt.Errorf("cannot create gateway dependencies: %w", err)
	}
	d.BanManager = mgr
	if d.Bans, err = acl.NewBanSet(acl.BanSetOptions{Logger: log}, st); err != nil {
		return Deps{}, fmt.Errorf("cannot create gateway dependencies: %w", err)
	}
	if d.Follower, err = registry.NewFollower(st, "", nil, log); err != nil {
		return Deps{}, fmt.Errorf("cannot create gateway dependencies: %w", err)
	}
	return d, nil
}
