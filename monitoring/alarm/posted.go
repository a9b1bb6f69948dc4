package alarm

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/wharfhq/wharf/monitoring/fielderr"
	"github.com/wharfhq/wharf/monitoring/labels"
)

// DefaultResolveTimeout is Alertmanager's resolve_timeout: a posted alert
// without endsAt is taken to end this long after it was received, unless
// posted again.
const DefaultResolveTimeout = 5 * time.Minute

// PostedAlert is one alert of Alertmanager API v2's POST /api/v2/alerts
// (postableAlert), as Prometheus and vmalert send it.
type PostedAlert struct {
	Labels       labels.Set        `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Validate checks a posted alert as Alertmanager does: at least one label,
// valid label names, UTF-8 values, endsAt not before startsAt. Label names
// must be classic ([a-zA-Z_][a-zA-Z0-9_]*, what matchers can name;
// Alertmanager 0.35 also takes UTF-8 names). Field paths are relative to
// the alert ("labels.team", "endsAt").
func (a PostedAlert) Validate() fielderr.List {
	var errs fielderr.List
	if len(a.Labels) == 0 {
		errs.Add("labels", "at least one label is required")
	}
	for _, n := range a.Labels.Names() {
		switch {
		case !labels.ValidName(n):
			errs.Add("labels."+n, "invalid label name: want [a-zA-Z_][a-zA-Z0-9_]*")
		case !utf8.ValidString(a.Labels[n]):
			errs.Add("labels."+n, "value is not valid UTF-8")
		}
	}
	if !a.StartsAt.IsZero() && !a.EndsAt.IsZero() && a.EndsAt.Before(a.StartsAt) {
		errs.Add("endsAt", "must not be before startsAt")
	}
	return errs
}

// Normalize fills what Alertmanager fills on receipt at now: a missing
// startsAt is now (or endsAt when that is in the past), a missing endsAt
// is now + resolveTimeout (0 = DefaultResolveTimeout); the bool reports
// whether endsAt was filled in.
func (a PostedAlert) Normalize(now time.Time, resolveTimeout time.Duration) (PostedAlert, bool) {
	if resolveTimeout <= 0 {
		resolveTimeout = DefaultResolveTimeout
	}
	if a.StartsAt.IsZero() {
		if !a.EndsAt.IsZero() && a.EndsAt.Before(now) {
			a.StartsAt = a.EndsAt
		} else {
			a.StartsAt = now
		}
	}
	timeout := false
	if a.EndsAt.IsZero() {
		a.EndsAt, timeout = now.Add(resolveTimeout), true
	}
	return a, timeout
}

// PostedCaseID is the case id of a posted alert: "am_" + its fingerprint.
func PostedCaseID(ls labels.Set) string { return "am_" + ls.FingerprintString() }

// ApplyPosted is the transition function of a posted alert, received at
// now, on its case (the zero Case when there is none; a is normalized
// first). An alert fires while now is before its endsAt.
//   - firing on a case that is not firing opens it (step key
//     "firing.<startsAt unix ms>");
//   - firing on a firing case only refreshes it (annotations, endsAt): the
//     same alert re-sent every evaluation is no new transition;
//   - resolved (endsAt ≤ now) on a firing case resolves it (step key
//     "resolved.<endsAt unix ms>"); on any other case it is a no-op.
func ApplyPosted(c Case, a PostedAlert, now time.Time, resolveTimeout time.Duration) (Case, []Change) {
	a, _ = a.Normalize(now, resolveTimeout)
	id := PostedCaseID(a.Labels)
	if c.ID != "" && c.ID != id {
		return c, nil
	}
	firing := now.Before(a.EndsAt)
	var next State
	var key string
	switch {
	case firing && !c.State.Firing():
		next, key = Opened, "firing."+strconv.FormatInt(a.StartsAt.UnixMilli(), 10)
	case !firing && c.State.Firing():
		next, key = Resolved, "resolved."+strconv.FormatInt(a.EndsAt.UnixMilli(), 10)
	case !firing:
		return c, nil
	}
	if key != "" && c.seen(key) {
		return c, nil
	}
	c = c.clone()
	c.ID, c.Source, c.Step = id, SourceAlertmanager, 1
	c.Labels = a.Labels.Clone()
	c.Fingerprint = a.Labels.FingerprintString()
	c.Annotations = a.Annotations
	c.GeneratorURL = a.GeneratorURL
	c.UpdatedAt = now
	c.Priority = priorityOf(a.Labels)
	if next == "" {
		c.ExpiresAt = a.EndsAt
		return c, nil
	}
	c.State, c.StepKey = next, key
	c.remember(key)
	at := now
	if next == Opened {
		c.StartsAt, c.EndsAt, c.ExpiresAt = a.StartsAt, time.Time{}, a.EndsAt
		c.AckedBy, c.AckedAt = "", time.Time{}
		at = a.StartsAt
	} else {
		c.EndsAt, c.ExpiresAt = a.EndsAt, time.Time{}
		at = a.EndsAt
	}
	ch := Change{State: next, StepKey: key, At: at, Status: c.Status(), Step: 1}
	c.record(Entry{At: at, Kind: EntryKind(next), StepKey: key, Status: ch.Status, Step: 1})
	return c, []Change{ch}
}

// Expire resolves a posted alert's case whose endsAt passed without a new
// post (Alertmanager's resolve by timeout); any other case is returned
// unchanged. The notify layer calls it on a timer with its clock.
func Expire(c Case, now time.Time) (Case, []Change) {
	if c.Source != SourceAlertmanager || !c.State.Firing() || c.ExpiresAt.IsZero() || now.Before(c.ExpiresAt) {
		return c, nil
	}
	return ApplyPosted(c, PostedAlert{Labels: c.Labels, Annotations: c.Annotations, StartsAt: c.StartsAt, EndsAt: c.ExpiresAt, GeneratorURL: c.GeneratorURL}, now, 0)
}

// priorityOf reads a "priority" label 0..6 of a posted alert; anything
// else (absent, "critical", ...) is priority 0, sent at once.
func priorityOf(ls labels.Set) int {
	if p, err := strconv.Atoi(ls[LabelPriority]); err == nil && p >= 0 && p <= 6 {
		return p
	}
	return 0
}
