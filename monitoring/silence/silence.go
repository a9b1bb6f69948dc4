package silence

import (
	"fmt"
	"time"

	"github.com/wharfhq/wharf/monitoring/fielderr"
	"github.com/wharfhq/wharf/monitoring/labels"
)

// State of a silence at a time, as Alertmanager's.
type State string

// The states.
const (
	Pending State = "pending" // t < startsAt
	Active  State = "active"  // startsAt ≤ t < endsAt
	Expired State = "expired" // endsAt ≤ t
)

// Limits on a silence, since silences come from API users.
const (
	MaxMatchers = 64
	MaxComment  = 4096
)

// Silence is one silence, in the JSON form of Alertmanager API v2
// (gettableSilence without the status, which State computes).
type Silence struct {
	ID        string          `json:"id"`
	Matchers  labels.Matchers `json:"matchers"`
	StartsAt  time.Time       `json:"startsAt"`
	EndsAt    time.Time       `json:"endsAt"`
	CreatedBy string          `json:"createdBy"`
	Comment   string          `json:"comment"`
	// UpdatedAt is when the silence was last written (set by the store
	// layer).
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// State is the silence's state at t.
func (s Silence) State(t time.Time) State {
	switch {
	case t.Before(s.StartsAt):
		return Pending
	case t.Before(s.EndsAt):
		return Active
	}
	return Expired
}

// Mutes reports whether s is active at t and its matchers match ls.
func (s Silence) Mutes(ls labels.Set, t time.Time) bool {
	return s.State(t) == Active && s.Matchers.Matches(ls)
}

// Validate checks s as Alertmanager does: at least one matcher, not all
// matchers matching the empty label set (that would silence everything),
// startsAt and endsAt set, endsAt not before startsAt; plus createdBy set
// and limits on sizes. Paths are the JSON field names.
func (s Silence) Validate() fielderr.List {
	var errs fielderr.List
	for i, m := range s.Matchers {
		if m == nil {
			errs.Add(fmt.Sprintf("matchers[%d]", i), "empty matcher")
		}
	}
	switch {
	case len(errs) > 0:
	case len(s.Matchers) == 0:
		errs.Add("matchers", "at least one matcher is required")
	case len(s.Matchers) > MaxMatchers:
		errs.Add("matchers", fmt.Sprintf("at most %d matchers", MaxMatchers))
	case s.Matchers.MatchesEmpty():
		errs.Add("matchers", "at least one matcher must not match the empty string (this silence would mute every alert)")
	}
	if s.StartsAt.IsZero() {
		errs.Add("startsAt", "required")
	}
	if s.EndsAt.IsZero() {
		errs.Add("endsAt", "required")
	} else if s.EndsAt.Before(s.StartsAt) {
		errs.Add("endsAt", "must not be before startsAt")
	}
	if s.CreatedBy == "" {
		errs.Add("createdBy", "required")
	}
	if len(s.Comment) > MaxComment {
		errs.Add("comment", fmt.Sprintf("at most %d bytes", MaxComment))
	}
	return errs
}

// Expire returns s ended at now, as Alertmanager's expire: a pending
// silence gets startsAt = endsAt = now, an active one endsAt = now; an
// expired one is returned with false (nothing to do).
func Expire(s Silence, now time.Time) (Silence, bool) {
	switch s.State(now) {
	case Pending:
		s.StartsAt, s.EndsAt = now, now
	case Active:
		s.EndsAt = now
	default:
		return s, false
	}
	return s, true
}

// Silenced returns the ids of the silences that mute ls at t (none: not
// silenced). The notify layer checks it right before sending, so a silence
// added after a notification was queued still stops it.
func Silenced(silences []Silence, ls labels.Set, t time.Time) []string {
	var ids []string
	for i := range silences {
		if silences[i].Mutes(ls, t) {
			ids = append(ids, silences[i].ID)
		}
	}
	return ids
}
