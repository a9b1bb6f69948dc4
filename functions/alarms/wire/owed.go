package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// OwedPrefix + <event id>/<step key> is an alarm event the judge handed to
// nsqd and notify has not recorded yet (the end-to-end outbox of judge
// events): the judge writes it (compare-and-swap on version 0, so a
// repeated hand-over keeps the first one) before it publishes the event,
// notify deletes it once the event's case step is recorded (its case
// written and its claims made), and notify's reconciler publishes the
// event again when the entry is older than notify.owed_after. The value
// is an Owed. Entries live at most OwedTTL (a cluster without notify
// nodes does not collect them forever).
const OwedPrefix = Prefix + "owed/"

// OwedLeaseKey holds the node id of the notify node whose reconciler
// scans OwedPrefix now (with a TTL).
const OwedLeaseKey = Prefix + "owedlease"

// OwedTTL is how long an owed entry is kept at most.
const OwedTTL = 24 * time.Hour

// OwedKey is the store key of the owed event id at its step key
// (alarm.StepKey: status.current_step.event_time).
func OwedKey(id, stepKey string) string { return OwedPrefix + id + "/" + stepKey }

// Owed is the value of an owed entry.
type Owed struct {
	// At is when the event was last handed to nsqd (by the judge or the
	// reconciler), in Unix milliseconds.
	At int64 `json:"at"`
	// Event is the event as published on the alarms topic.
	Event json.RawMessage `json:"event"`
	// Republished counts the reconciler's publishes of it: the next one
	// waits owed_after doubled that often (at most 64 times), so a backlog
	// notify is slow to work through is not published again and again.
	Republished int `json:"republished,omitempty"`
}

// EncodeOwed encodes an owed entry of body, handed over at t after
// republished publishes by the reconciler.
func EncodeOwed(body []byte, t time.Time, republished int) ([]byte, error) {
	if !json.Valid(body) {
		return nil, errors.New("cannot encode owed event: not JSON")
	}
	b, err := json.Marshal(Owed{At: t.UnixMilli(), Event: body, Republished: republished})
	if err != nil {
		return nil, fmt.Errorf("cannot encode owed event: %w", err)
	}
	return b, nil
}

// Due reports whether the reconciler publishes o again at now, after
// owedAfter (doubled per republish, at most 64 times).
func (o Owed) Due(now time.Time, owedAfter time.Duration) bool {
	wait := owedAfter << min(max(o.Republished, 0), 6)
	return now.UnixMilli()-o.At >= wait.Milliseconds()
}

// DecodeOwed decodes an owed entry.
func DecodeOwed(b []byte) (Owed, error) {
	var o Owed
	if err := json.Unmarshal(b, &o); err != nil {
		return Owed{}, fmt.Errorf("cannot decode owed event: %w", err)
	}
	if len(o.Event) == 0 || o.At <= 0 {
		return Owed{}, errors.New("cannot decode owed event: no event or time")
	}
	return o, nil
}
