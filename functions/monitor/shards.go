package monitor

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/store"
)

// ShardLease is one shard of a role: its owner node and when the lease
// expires unless renewed. Owner is empty for a shard nobody holds.
type ShardLease struct {
	Shard     int        `json:"shard"`
	Owner     string     `json:"owner"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// ShardMember is a live node of a role and when its announcement expires.
type ShardMember struct {
	Node      string     `json:"node"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// Shards is how many shards the node holds.
	Shards int `json:"shards"`
}

// RoleShards is the shard ownership of one role (wire.LeaseRoles): every
// shard 0..Shards-1 in order, the live members, and Unowned, the shards
// no node holds (their points wait in NSQ until one does).
type RoleShards struct {
	Role    string        `json:"role"`
	Shards  int           `json:"shards"`
	Members []ShardMember `json:"members"`
	Leases  []ShardLease  `json:"leases"`
	Unowned []int         `json:"unowned"`
}

// ShardsReply is GET /api/v1/monitoring/shards.
type ShardsReply struct {
	Time  time.Time    `json:"time"`
	Roles []RoleShards `json:"roles"`
}

// shardRoutes is the shard status route (admin: it names the nodes).
func (f *Function) shardRoutes() []fnapi.Route {
	return []fnapi.Route{{Method: fasthttp.MethodGet, Pattern: "/api/v1/monitoring/shards", Access: fnapi.AdminOnly(), Handler: f.shardStatus}}
}

// shardStatus answers GET /api/v1/monitoring/shards from the leases and
// members in the store.
func (f *Function) shardStatus(r *fnapi.Request) error {
	out := ShardsReply{Time: f.opts.Now().UTC(), Roles: []RoleShards{}}
	for _, role := range wire.LeaseRoles() {
		rs, err := f.roleShards(r, role)
		if err != nil {
			return storeError(err, "read shard leases")
		}
		out.Roles = append(out.Roles, rs)
	}
	return r.JSON(fasthttp.StatusOK, out)
}

func (f *Function) roleShards(r *fnapi.Request, role wire.LeaseRole) (RoleShards, error) {
	ctx, cancel := f.storeCtx(r)
	defer cancel()
	rs := RoleShards{Role: role.Role, Shards: f.opts.Shards, Members: []ShardMember{}, Leases: make([]ShardLease, f.opts.Shards), Unowned: []int{}}
	for i := range rs.Leases {
		rs.Leases[i].Shard = i
	}
	if role.OwnerJSON && f.opts.Series != nil && !f.opts.Series.Shared() {
		f.localSeries(&rs) // serve: this node stores the shards, without leases
		return rs, nil
	}
	held := map[string]int{}
	opts := store.ScanOptions{PageTimeout: f.opts.StoreTimeout}
	for e, err := range store.Entries(ctx, f.opts.Store, role.LeasePrefix, opts) {
		if err != nil {
			return rs, err
		}
		i, err := strconv.Atoi(strings.TrimPrefix(e.Key, role.LeasePrefix))
		if err != nil || i < 0 || i >= f.opts.Shards {
			continue // another shard count's lease: not ours to show
		}
		owner := leaseOwner(role, e.Value)
		rs.Leases[i].Owner, rs.Leases[i].ExpiresAt = owner, expiry(e)
		held[owner]++
	}
	for e, err := range store.Entries(ctx, f.opts.Store, role.MemberPrefix, opts) {
		if err != nil {
			return rs, err
		}
		node := strings.TrimPrefix(e.Key, role.MemberPrefix)
		rs.Members = append(rs.Members, ShardMember{Node: node, ExpiresAt: expiry(e), Shards: held[node]})
	}
	for _, l := range rs.Leases {
		if l.Owner == "" {
			rs.Unowned = append(rs.Unowned, l.Shard)
		}
	}
	return rs, nil
}

// localSeries fills rs with the shards this node's series writer stores
// without leases (serve, or a node alone): each owned with no expiry.
func (f *Function) localSeries(rs *RoleShards) {
	node := f.nodeID()
	owned := map[int]bool{}
	for _, s := range f.opts.Series.Shards() {
		if s >= 0 && s < len(rs.Leases) {
			rs.Leases[s].Owner = node
			owned[s] = true
		}
	}
	rs.Members = append(rs.Members, ShardMember{Node: node, Shards: len(owned)})
	for _, l := range rs.Leases {
		if !owned[l.Shard] {
			rs.Unowned = append(rs.Unowned, l.Shard)
		}
	}
}

// leaseOwner is the node ID a lease of role holds (a series lease holds
// its SeriesOwner as JSON; an undecodable one shows as it is).
func leaseOwner(role wire.LeaseRole, v []byte) string {
	if role.OwnerJSON {
		var o wire.SeriesOwner
		if json.Unmarshal(v, &o) == nil && o.Node != "" {
			return o.Node
		}
	}
	return string(v)
}

func expiry(e store.Entry) *time.Time {
	if e.ExpiresAt.IsZero() {
		return nil
	}
	t := e.ExpiresAt.UTC()
	return &t
}
