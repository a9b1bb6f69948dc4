// Package wire is the contract between the alarm handlers (functions/alarms:
// the Alertmanager API v2, receivers, routes, silences, cases, the SSE
// stream) and the notify runner (runner/notify: the consumer of the
// alarms topic and the delivery workers): the store keys under
// monitor/alarms/ and the NSQ topic of posted alerts. The values are the
// JSON of the monitoring/alarm, amroute, silence, receiver and notifyplan
// types; docs/monitoring-alarms-design.md describes who writes what and how.
package wire

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// Prefix holds everything of the alarms.
const Prefix = "monitor/alarms/"

// Store prefixes (all values JSON).
const (
	// CasePrefix + <case id>: alarm.Case (CAS; Apply/ApplyPosted/Record are idempotent).
	CasePrefix = Prefix + "cases/"
	// TeamCasePrefix + <team>/<case id>: "" (index of a team's cases).
	TeamCasePrefix = Prefix + "teams/"
	// ClaimPrefix + <idempotency key>: Claim (created with CAS expect 0:
	// exactly one node wins a (case, step, receiver)).
	ClaimPrefix = Prefix + "claims/"
	// QueuePrefix + <team>/<receiver>/<due ms, 15 digits>/<idempotency key>: "".
	QueuePrefix = Prefix + "queue/"
	// QueueLeasePrefix + <team>/<receiver>: the node id delivering that queue (TTL).
	QueueLeasePrefix = Prefix + "qlease/"
	// DeadPrefix + <team>/<idempotency key>: the Claim when its retry budget ran out.
	DeadPrefix = Prefix + "dead/"
	// GroupPrefix + <team>/<receiver>/<group hash>: a notifyplan group and its alerts.
	GroupPrefix = Prefix + "groups/"
	// CombinePrefix + <team>/<receiver>: notifyplan.Combiner (Falcon's priority combine).
	CombinePrefix = Prefix + "combine/"
	// StormPrefix + <team>/<receiver>: notifyplan.StormState.
	StormPrefix = Prefix + "storm/"
	// SilencePrefix + <id>: silence.Silence with its team.
	SilencePrefix = Prefix + "silences/"
	// RoutePrefix + <team>: amroute.Versioned (CAS on its version);
	// RoutePrefix + <team>/history/<version, 10 digits>: past versions.
	RoutePrefix = Prefix + "routes/"
	// ReceiverPrefix + <team>/<name>: receiver.Receiver.
	ReceiverPrefix = Prefix + "receivers/"
	// SecretPrefix + <team>/<ref>: a receiver's raw HMAC secret (write-only).
	SecretPrefix = Prefix + "secrets/"
	// InhibitPrefix + <team>: the team's inhibition rules, versioned.
	InhibitPrefix = Prefix + "inhibit/"
)

// GlobalTeam names the admin route tree and rules, used for posted alerts
// without a team label ("_global" is not a valid team name).
const GlobalTeam = "_global"

// CaseKey is the store key of case id.
func CaseKey(id string) string { return CasePrefix + id }

// TeamCaseKey is the index key of case id of team.
func TeamCaseKey(team, id string) string { return TeamCasePrefix + team + "/" + id }

// ClaimKey is the store key of the claim of an idempotency key.
func ClaimKey(idempotencyKey string) string { return ClaimPrefix + idempotencyKey }

// QueueKey is the queue entry of a delivery due at dueMillis.
func QueueKey(team, receiver string, dueMillis int64, idempotencyKey string) string {
	due := strconv.FormatInt(max(dueMillis, 0), 10)
	for len(due) < 15 {
		due = "0" + due
	}
	return QueuePrefix + team + "/" + receiver + "/" + due + "/" + idempotencyKey
}

// QueueOf is the prefix of one receiver's queue.
func QueueOf(team, receiver string) string { return QueuePrefix + team + "/" + receiver + "/" }

// CombineKey is the combining state of one receiver.
func CombineKey(team, receiver string) string { return CombinePrefix + team + "/" + receiver }

// GroupStateKey is the schedule state of one group (route group key) of
// one receiver: GroupPrefix + <team>/<receiver>/<first 32 hex digits of
// the SHA-256 of the group key>.
func GroupStateKey(team, receiver, groupKey string) string {
	h := sha256.Sum256([]byte(groupKey))
	return GroupPrefix + team + "/" + receiver + "/" + hex.EncodeToString(h[:16])
}

// StormKey is the storm-control state of one receiver.
func StormKey(team, receiver string) string { return StormPrefix + team + "/" + receiver }

// QueueLeaseKey is the lease of one receiver's queue.
func QueueLeaseKey(team, receiver string) string { return QueueLeasePrefix + team + "/" + receiver }

// DeadKey is the dead-delivery record of an idempotency key of team.
func DeadKey(team, idempotencyKey string) string { return DeadPrefix + team + "/" + idempotencyKey }

// SilenceKey is the store key of silence id.
func SilenceKey(id string) string { return SilencePrefix + id }

// RouteKey is the store key of team's route tree.
func RouteKey(team string) string { return RoutePrefix + team }

// RouteHistoryKey is the store key of version v of team's route tree.
func RouteHistoryKey(team string, v int) string {
	s := strconv.Itoa(max(v, 0))
	for len(s) < 10 {
		s = "0" + s
	}
	return RoutePrefix + team + "/history/" + s
}

// ReceiverKey is the store key of receiver name of team.
func ReceiverKey(team, name string) string { return ReceiverPrefix + team + "/" + name }

// SecretKey is the store key of a receiver secret of team.
func SecretKey(team, ref string) string { return SecretPrefix + team + "/" + ref }

// InhibitKey is the store key of team's inhibition rules.
func InhibitKey(team string) string { return InhibitPrefix + team }

// NSQ: judge events arrive on the topic "alarms" (functions/monitor/wire.AlarmsTopic)
// and notify nodes read it on NotifyChannel. Alerts posted to
// POST /api/v2/alerts are validated by the handler and published, one
// Posted per request, on PostedTopic, read by notify on NotifyChannel; the
// notify runner applies them to the cases and dispatches them like judge
// events. Channels named notify* or wharf* are reserved; subscriber
// programs use their own channel on "alarms" (sub.<team>.<name> by convention).
const (
	PostedTopic   = "alarms.posted"
	NotifyChannel = "notify"
)
