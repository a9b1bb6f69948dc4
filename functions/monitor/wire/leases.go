package wire

// Shard ownership in the store. A component that splits the shards
// between its live nodes (the judge, the series writers) announces each
// node under its MemberPrefix + <node id> and holds shard i under
// LeasePrefix + <i>, both with a TTL; a lease's value is the holder's
// node ID (the judge) or its SeriesOwner as JSON (the series writers).
// GET /api/v1/monitoring/shards reads them.
const (
	JudgeLeasePrefix  = "monitor/judge/leases/"
	JudgeMemberPrefix = "monitor/judge/members/"
)

// LeaseRole is one component whose shards are owned through leases.
type LeaseRole struct {
	// Role names it in the shard status: "judge".
	Role string
	// LeasePrefix + <shard> is a lease; MemberPrefix + <node> a live node.
	LeasePrefix, MemberPrefix string
	// OwnerJSON: a lease holds the holder's SeriesOwner as JSON rather
	// than its bare node ID.
	OwnerJSON bool
}

// LeaseRoles returns the components that own shards through leases, in
// the order the shard status lists them.
func LeaseRoles() []LeaseRole {
	return []LeaseRole{
		{Role: "judge", LeasePrefix: JudgeLeasePrefix, MemberPrefix: JudgeMemberPrefix},
		{Role: "series", LeasePrefix: SeriesLeasePrefix, MemberPrefix: SeriesMemberPrefix, OwnerJSON: true},
	}
}
