package alarm

import "time"

// EntryKind says what a history entry records.
type EntryKind string

// The kinds of history entries.
const (
	// Transitions (Change.State as the kind).
	EntryOpened   EntryKind = "opened"
	EntryStepped  EntryKind = "stepped"
	EntryResolved EntryKind = "resolved"
	EntryNoData   EntryKind = "nodata"
	// EntryNotified: a receiver was sent the step (Result says how it went).
	EntryNotified EntryKind = "notified"
	// EntryFailed: a delivery attempt failed and will be retried.
	EntryFailed EntryKind = "failed"
	// EntryDead: the retry budget ran out; the delivery is given up.
	EntryDead EntryKind = "dead"
	// EntrySilenced and EntryInhibited: a receiver was not sent the step
	// because a silence (Note: its id) or an inhibition rule muted it.
	EntrySilenced  EntryKind = "silenced"
	EntryInhibited EntryKind = "inhibited"
	// EntryCombined: the step went out inside a combined (priority 3–6)
	// or digest message rather than on its own.
	EntryCombined EntryKind = "combined"
	// EntryAcked: someone acknowledged the case (By).
	EntryAcked EntryKind = "acked"
	// EntrySuperseded: a firing step came due (a retry) after its case
	// resolved, and was not sent: the receiver has or gets the resolution.
	EntrySuperseded EntryKind = "superseded"
	// EntryCancelled: an escalation to Receiver came due and was not
	// sent (Note says why: acknowledged, or the problem ended).
	EntryCancelled EntryKind = "cancelled"
)

// Entry is one line of a case's history.
type Entry struct {
	At      time.Time `json:"at"`
	Kind    EntryKind `json:"kind"`
	StepKey string    `json:"step_key"`
	// Status and Step of the event, for transitions.
	Status string `json:"status,omitempty"`
	Step   int    `json:"step,omitempty"`
	// Receiver, Via (its kind: webhook, template, sse, nsq) and Result
	// ("200", "timeout after 10s", ...) for deliveries; Attempt counts
	// from 1.
	Receiver string `json:"receiver,omitempty"`
	Via      string `json:"via,omitempty"`
	Result   string `json:"result,omitempty"`
	Attempt  int    `json:"attempt,omitempty"`
	// By is who acknowledged; Note is free text (a silence id, ...).
	By   string `json:"by,omitempty"`
	Note string `json:"note,omitempty"`
}

// Record returns c with e appended to its history (bounded by
// MaxHistory). The notify layer records deliveries with it; c is not
// changed.
func Record(c Case, e Entry) Case {
	c = c.clone()
	c.record(e)
	return c
}
