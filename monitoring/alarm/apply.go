package alarm

import (
	"strconv"
	"time"

	"github.com/wharfhq/wharf/monitoring/event"
)

// Change is one transition of a case: what the notify layer routes and
// delivers. Step key and case id identify it across nodes.
type Change struct {
	State   State     `json:"state"`
	StepKey string    `json:"step_key"`
	At      time.Time `json:"at"`
	// Status and Step of the event (firing/resolved and 1 for a posted
	// alert).
	Status string `json:"status"`
	Step   int    `json:"step"`
}

// StepKey is the identity of an event inside its case:
// "<status>.<current_step>.<event_time>", e.g. "PROBLEM.2.1700000120". NSQ
// redeliveries of one event have the same key; no two different events of
// one case do (the judge sends one event per (status, step, time)).
func StepKey(e event.Event) string {
	return string(e.Status) + "." + strconv.Itoa(e.CurrentStep) + "." + strconv.FormatInt(e.EventTime, 10)
}

// Apply is the transition function of a judge event on its case: c is the
// stored case of e.ID, or the zero Case when there is none. It returns the
// new case and the transitions to notify (none or one); c itself is never
// changed.
//
// Rules:
//   - the same event again (same id, status, current_step, event_time) is
//     a no-op: the same case, no changes — consumers de-duplicate with it;
//   - an event older than the latest applied one (NSQ reorders) is a no-op;
//   - PROBLEM on a case that is not firing (new, resolved, nodata), or
//     PROBLEM step 1 on a firing one, opens it (StartsAt = event time);
//     PROBLEM step > 1 on an opened/stepped case steps it;
//   - OK resolves a firing case (EndsAt = event time); OK on a case that is
//     not firing changes nothing but the labels (and a zero case stays
//     zero: nothing to keep);
//   - NODATA puts a case that is not already in nodata into nodata.
//
// An event whose id is not c.ID (c not zero) is a no-op.
func Apply(c Case, e event.Event) (Case, []Change) {
	if c.ID != "" && c.ID != e.ID {
		return c, nil
	}
	key := StepKey(e)
	at := time.Unix(e.EventTime, 0).UTC()
	if c.seen(key) || (!c.UpdatedAt.IsZero() && at.Before(c.UpdatedAt)) {
		return c, nil
	}
	var next State
	switch e.Status {
	case event.Problem:
		if (c.State == Opened || c.State == Stepped) && e.CurrentStep > 1 {
			next = Stepped
		} else {
			next = Opened
		}
	case event.OK:
		if c.State.Firing() {
			next = Resolved
		}
	case event.NoData:
		if c.State != NoData {
			next = NoData
		}
	default:
		return c, nil
	}
	if next == "" && c.ID == "" {
		return c, nil
	}
	wasFiring := c.State.Firing()
	c = c.clone()
	c.ID, c.Source = e.ID, SourceJudge
	c.Labels = EventLabels(e)
	c.Fingerprint = IdentityLabels(e).FingerprintString()
	c.Priority = e.Priority
	c.UpdatedAt = at
	c.remember(key)
	if c.Annotations == nil {
		c.Annotations = map[string]string{}
	}
	if e.Note != "" {
		c.Annotations["note"] = e.Note
	}
	if next == "" {
		return c, nil
	}
	c.State, c.Step, c.StepKey = next, e.CurrentStep, key
	switch {
	case next == Opened || (next == NoData && !wasFiring):
		c.StartsAt, c.EndsAt = at, time.Time{}
		c.AckedBy, c.AckedAt = "", time.Time{}
	case next == Resolved:
		c.EndsAt = at
	}
	ch := Change{State: next, StepKey: key, At: at, Status: string(e.Status), Step: e.CurrentStep}
	c.record(Entry{At: at, Kind: EntryKind(next), StepKey: key, Status: ch.Status, Step: ch.Step})
	return c, []Change{ch}
}
