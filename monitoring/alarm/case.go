package alarm

import (
	"time"

	"github.com/wharfhq/wharf/monitoring/labels"
)

// State is where a case is.
type State string

// The states of a case.
const (
	// Opened: a problem started (a first PROBLEM, or a posted alert that
	// fires).
	Opened State = "opened"
	// Stepped: the problem was reported again (a later PROBLEM step,
	// renotify).
	Stepped State = "stepped"
	// Resolved: the problem ended (OK, or a posted alert's endsAt passed).
	Resolved State = "resolved"
	// NoData: the series fell silent (NODATA).
	NoData State = "nodata"
)

// Firing reports whether the state is a live problem (everything but
// Resolved), as Alertmanager's "firing".
func (s State) Firing() bool { return s == Opened || s == Stepped || s == NoData }

// Source says where a case's alerts come from.
type Source string

// The sources.
const (
	SourceJudge        Source = "judge"        // Wharf's judge, through the NSQ topic alarms
	SourceAlertmanager Source = "alertmanager" // POST /api/v2/alerts
)

// MaxHistory bounds a case's history: the oldest entries are dropped
// first, transitions and deliveries alike. The store keeps older ones
// elsewhere if it wants them.
const MaxHistory = 500

// maxSeen bounds the remembered step keys used for de-duplication.
const maxSeen = 32

// Case is one alarm: one series under one strategy, or one posted alert.
// It is a value: Apply returns a new one and never changes its argument.
type Case struct {
	// ID is the event id, or "am_" + the fingerprint for a posted alert.
	ID     string `json:"id"`
	Source Source `json:"source"`
	// Fingerprint is Alertmanager's fingerprint of the identity labels
	// (Labels without status), 16 hex digits; stable over the case's life.
	Fingerprint string `json:"fingerprint"`
	// Labels are the labels of the latest event (EventLabels) or the
	// posted alert's labels.
	Labels      labels.Set        `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
	State       State             `json:"state"`
	// Step is the latest event's current_step (1 for a posted alert).
	Step     int `json:"step"`
	Priority int `json:"priority"`
	// StepKey identifies the latest transition (see StepKey); the claims
	// and the Idempotency-Key of deliveries are per (case, step key,
	// receiver).
	StepKey string `json:"step_key"`
	// StartsAt is when the current problem started; EndsAt when it was
	// resolved (zero while firing); UpdatedAt the time of the latest
	// event applied (event_time, or the post time for posted alerts).
	StartsAt     time.Time `json:"starts_at"`
	EndsAt       time.Time `json:"ends_at,omitzero"`
	UpdatedAt    time.Time `json:"updated_at"`
	GeneratorURL string    `json:"generator_url,omitempty"`
	// ExpiresAt is a firing posted alert's endsAt: it resolves then unless
	// posted again (see Expire).
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// AckedBy and AckedAt are set by Ack until the next problem opens.
	AckedBy string    `json:"acked_by,omitempty"`
	AckedAt time.Time `json:"acked_at,omitzero"`
	// Seen are the latest applied step keys, newest last, for
	// de-duplication of redelivered events.
	Seen    []string `json:"seen,omitempty"`
	History []Entry  `json:"history,omitempty"`
}

// Status is Alertmanager's status word of the case: "firing" or
// "resolved".
func (c Case) Status() string {
	if c.State.Firing() {
		return "firing"
	}
	return "resolved"
}

// Ack marks the case acknowledged by who at t and records it. A resolved
// case or an already acknowledged one is returned unchanged with false.
func Ack(c Case, who string, t time.Time) (Case, bool) {
	if !c.State.Firing() || c.AckedBy != "" {
		return c, false
	}
	c = c.clone()
	c.AckedBy, c.AckedAt = who, t
	c.record(Entry{At: t, Kind: EntryAcked, StepKey: c.StepKey, By: who})
	return c, true
}

func (c Case) seen(key string) bool {
	for _, k := range c.Seen {
		if k == key {
			return true
		}
	}
	return false
}

// clone copies the slices and maps a transition may change.
func (c Case) clone() Case {
	c.Labels = c.Labels.Clone()
	if c.Annotations != nil {
		a := make(map[string]string, len(c.Annotations))
		for k, v := range c.Annotations {
			a[k] = v
		}
		c.Annotations = a
	}
	c.Seen = append([]string(nil), c.Seen...)
	c.History = append([]Entry(nil), c.History...)
	return c
}

func (c *Case) remember(key string) {
	c.Seen = append(c.Seen, key)
	if len(c.Seen) > maxSeen {
		c.Seen = c.Seen[len(c.Seen)-maxSeen:]
	}
}

func (c *Case) record(e Entry) {
	c.History = append(c.History, e)
	if len(c.History) > MaxHistory {
		c.History = c.History[len(c.History)-MaxHistory:]
	}
}
