package wire

import (
	"time"

	"github.com/wharfhq/wharf/monitoring/alarm"
)

// PostedVersion is the schema version of Posted.
const PostedVersion = 1

// Posted is the body of a PostedTopic message: the alerts of one
// POST /api/v2/alerts request, already validated, with when the handler
// received them (the "now" of alarm.ApplyPosted: a firing alert without
// endsAt resolves 5 minutes after it was last posted) and who posted them
// (the token's name and, for a team token, its team — forced as the
// alerts' team label by the handler).
type Posted struct {
	Version    int                 `json:"version"`
	ReceivedAt time.Time           `json:"received_at"`
	By         string              `json:"by"`
	Team       string              `json:"team,omitempty"`
	Alerts     []alarm.PostedAlert `json:"alerts"`
}

// Claim is the value of a ClaimKey: the state of one delivery of a
// (case, step, receiver). States: queued, sending, sent, silenced,
// inhibited, folded, dead, skipped; every move is a compare-and-swap.
type Claim struct {
	Case       string    `json:"case"`
	StepKey    string    `json:"step_key"`
	Team       string    `json:"team"`
	Receiver   string    `json:"receiver"`
	State      string    `json:"state"`
	Node       string    `json:"node,omitempty"`
	Attempts   int       `json:"attempts"`
	NextAt     time.Time `json:"next_at,omitzero"`
	LeaseUntil time.Time `json:"lease_until,omitzero"`
	Result     string    `json:"result,omitempty"`
	// GroupKey and GroupLabels are the route's group key and group labels
	// of the delivery (the payload's groupKey and groupLabels), fixed when
	// the claim is created so that every attempt sends the same payload.
	GroupKey    string            `json:"group_key,omitempty"`
	GroupLabels map[string]string `json:"group_labels,omitempty"`
	// Combine marks a step of priority 3–6 on a route without group_by:
	// it goes out in one message with the receiver's other such steps, at
	// most once per combine interval (Open-Falcon's combining).
	Combine bool `json:"combine,omitempty"`
	// Grouped marks a step on the group schedule (a posted alert, or a
	// route with group_by): the receiver's due grouped steps of one
	// GroupKey go out in one message.
	Grouped bool `json:"grouped,omitempty"`
	// GroupInterval is the route's group_interval for a grouped step: a
	// group's next message goes out at most this long after its last.
	GroupInterval time.Duration `json:"group_interval,omitempty"`
	// RepeatInterval is the route's repeat_interval for a grouped firing
	// step: once sent, the step is sent again this long after while its
	// case still fires at that step (claimed as step key
	// "repeat.<n>.<step key>", n from 1).
	RepeatInterval time.Duration `json:"repeat_interval,omitempty"`
	CreatedAt      time.Time     `json:"created_at"`
	UpdatedAt      time.Time     `json:"updated_at"`
}

// Claim states.
const (
	ClaimQueued    = "queued"
	ClaimSending   = "sending"
	ClaimSent      = "sent"
	ClaimSilenced  = "silenced"
	ClaimInhibited = "inhibited"
	ClaimFolded    = "folded"
	ClaimDead      = "dead"
	// ClaimSkipped: the receiver does not take this step (a resolution
	// for a receiver with send_resolved false, or an sse receiver, which
	// the stream serves); nothing was sent and nothing will be.
	ClaimSkipped = "skipped"
	// ClaimSuperseded: a firing step whose case resolved before it was
	// sent (a retry that came due after the resolution); not sent.
	ClaimSuperseded = "superseded"
)
