// Package wire is the contract between the monitor function (ingest) and
// the consumers of its points (the series writer, the judge): the shard
// members of the ring, the NSQ topics and channels. A message on a points
// topic is one batch written by a monitoring/metric.BatchFormat (binary
// version 2 by default, JSON version 1 on request) and read by
// metric.DecodeBatch, which takes both; the points have canonical tags
// ("k=v,..." sorted by key) and the time aligned to the step.
package wire

import "strconv"

// Topic prefixes; the shard number follows, e.g. metrics.series.3.
const (
	SeriesTopicPrefix = "metrics.series."
	JudgeTopicPrefix  = "metrics.judge."
)

// SeriesChannel is the channel the series writer reads its shards' topics on.
const SeriesChannel = "series"

// DefaultShards is the number of shards of a default install.
const DefaultShards = 8

// MaxShards bounds the shard count (topic names stay short; one series
// store per shard).
const MaxShards = 1024

// ShardMember is the ring member of shard i: a cluster key, never an
// address, so that a shard moving to another node keeps its series.
func ShardMember(i int) string { return "shard-" + strconv.Itoa(i) }

// ShardMembers returns the members of n shards, shard-0 .. shard-(n-1).
func ShardMembers(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = ShardMember(i)
	}
	return out
}

// SeriesTopic is the topic of shard i's points for the series store.
func SeriesTopic(i int) string { return SeriesTopicPrefix + strconv.Itoa(i) }

// JudgeTopic is the topic of shard i's points for the judge.
func JudgeTopic(i int) string { return JudgeTopicPrefix + strconv.Itoa(i) }

// The judge's contract: strategies live in the store as JSON of
// monitoring/strategy.Strategy under StrategyPrefix+<id> (written by the
// strategies API of the monitor function, read and watched by the judge,
// runner/judge); the judge reads its shards' JudgeTopicPrefix topics on
// JudgeChannel and publishes every alarm event (monitoring/event, schema
// v1) to AlarmsTopic through an outbox.
const (
	StrategyPrefix = "monitor/strategies/"
	JudgeChannel   = "judge"
	AlarmsTopic    = "alarms"
)

// StrategyKey is the store key of strategy id.
func StrategyKey(id string) string { return StrategyPrefix + id }

// ProblemPrefix holds the open problems, a view the judge keeps for
// people: ProblemPrefix+<strategy id>/<event id> is the JSON of the last
// PROBLEM or NODATA event of that series, deleted when its OK is
// published. The alarms topic stays the record; the view can lag it by
// one event after a judge crash and catches up on the series' next event.
const ProblemPrefix = "monitor/problems/"

// ProblemKey is the store key of the open problem eventID of strategy id.
func ProblemKey(strategyID, eventID string) string {
	return ProblemPrefix + strategyID + "/" + eventID
}

// The series writers' contract: the nodes that store series (wharf
// functions, and serve) split the shards through leases
// (internal/leases) under SeriesLeasePrefix+<shard>, announcing
// themselves under SeriesMemberPrefix+<node id>; both records hold the
// node's SeriesOwner as JSON, so that any node can forward a query of a
// shard to the node that stores it.
const (
	SeriesLeasePrefix  = "monitor/series/leases/"
	SeriesMemberPrefix = "monitor/series/members/"
)

// SeriesOwner is the record of a series writer node: its ID and the base
// URL (scheme://host:port of its gateway) other nodes forward queries to.
type SeriesOwner struct {
	Node string `json:"node"`
	URL  string `json:"url"`
}

// LocalShardsHeader on a query or series listing asks the node to answer
// from the shards it stores itself, and never to forward: a node sets it
// on the queries it forwards to a shard's owner. It only narrows an
// answer (a series of a shard stored elsewhere gets 503), so a client
// sending it gains nothing; authorization is checked as always.
const LocalShardsHeader = "X-Wharf-Local-Shards"
