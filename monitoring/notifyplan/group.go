package notifyplan

import (
	"slices"
	"time"
)

// GroupOpts are the timing settings of a route (amroute.Opts).
type GroupOpts struct {
	GroupWait      time.Duration
	GroupInterval  time.Duration
	RepeatInterval time.Duration
	// SendResolved: the receiver wants resolved alerts (webhook
	// send_resolved, default true in Alertmanager's webhook_config).
	SendResolved bool
}

// Alert is one alert of a group as the schedule sees it.
type Alert struct {
	// ID is the case id; StepKey its current step (alarm.Case).
	ID      string    `json:"id"`
	StepKey string    `json:"step_key"`
	Firing  bool      `json:"firing"`
	Start   time.Time `json:"starts_at"`
}

// Group is the schedule state of one aggregation group (one group key on
// one route/receiver).
type Group struct {
	Key string `json:"key"`
	// Created is when the first alert entered the group.
	Created time.Time `json:"created"`
	// LastFlush is when the group was last flushed (zero: never).
	LastFlush time.Time `json:"last_flush,omitzero"`
	// Sent is the last notification that went out (nil: none yet), as
	// Alertmanager's notification log entry.
	Sent *Sent `json:"sent,omitempty"`
}

// Sent records a notification: when, and which alerts were firing and
// resolved in it, each as "<case id>@<step key>", sorted. The step key is
// part of the identity so that a new step of a judge case (PROBLEM step
// 2) is news to the group, while a posted alert re-sent unchanged
// (step key "firing.<startsAt>") is not — Alertmanager's behaviour.
type Sent struct {
	At       time.Time `json:"at"`
	Firing   []string  `json:"firing"`
	Resolved []string  `json:"resolved"`
}

// Reason says why a flush sends (or not), as Alertmanager's.
type Reason string

// The reasons.
const (
	ReasonNone          Reason = ""                   // nothing to send
	ReasonFirst         Reason = "first_notification" // first firing alerts of the group
	ReasonNewAlerts     Reason = "new_alerts"         // firing alerts not in the last notification
	ReasonAllResolved   Reason = "all_resolved"       // everything notified as firing has resolved
	ReasonNewResolved   Reason = "new_resolved"       // (send_resolved) alerts resolved since the last notification
	ReasonRepeatElapsed Reason = "repeat_interval"    // nothing changed, repeat_interval passed
)

// NextFlush is when the group's next flush is due: group_wait after the
// group was created for the first flush (at once, i.e. Created, when an
// alert in it had started group_wait or more before the group was
// created, as Alertmanager does for old alerts), then group_interval after
// each flush.
func NextFlush(g Group, alerts []Alert, o GroupOpts) time.Time {
	if !g.LastFlush.IsZero() {
		return g.LastFlush.Add(o.GroupInterval)
	}
	for _, a := range alerts {
		if !a.Start.IsZero() && !a.Start.Add(o.GroupWait).After(g.Created) {
			return g.Created
		}
	}
	return g.Created.Add(o.GroupWait)
}

// Flush is the decision of a flush at now: whether to send, why, and the
// alerts to put in the message (all the group's alerts, the resolved ones
// only when SendResolved), and the group state to store after the
// message was delivered (Next; LastFlush is advanced even when nothing is
// sent). Call it when NextFlush is due.
type Flush struct {
	Reason Reason
	Alerts []Alert
	Next   Group
}

// Send reports whether the flush sends a message. A flush may have a
// reason and still send nothing: everything resolved for a receiver
// without SendResolved (the state is still updated, as Alertmanager's
// notification log).
func (f Flush) Send() bool { return f.Reason != ReasonNone && len(f.Alerts) > 0 }

// Decide is a flush of g at now with the group's current alerts:
// Alertmanager's dedup rules.
//   - never notified: send when something fires;
//   - a firing alert that the last notification did not list as firing:
//     send (as a first notification if the last one had nothing firing);
//   - nothing fires: send once if the last notification had firing
//     alerts (all resolved), else nothing;
//   - SendResolved and an alert resolved that the last did not list as
//     resolved: send;
//   - otherwise send when repeat_interval has passed since the last one.
func Decide(g Group, alerts []Alert, o GroupOpts, now time.Time) Flush {
	firing, resolved := partition(alerts)
	r := reason(g.Sent, firing, resolved, o, now)
	next := g
	next.LastFlush = now
	f := Flush{Reason: r, Next: next}
	if r == ReasonNone {
		return f
	}
	for _, a := range alerts {
		if a.Firing || o.SendResolved {
			f.Alerts = append(f.Alerts, a)
		}
	}
	f.Next.Sent = &Sent{At: now, Firing: firing, Resolved: resolved}
	return f
}

func partition(alerts []Alert) (firing, resolved []string) {
	firing, resolved = []string{}, []string{}
	for _, a := range alerts {
		if a.Firing {
			firing = append(firing, a.ID+"@"+a.StepKey)
		} else {
			resolved = append(resolved, a.ID+"@"+a.StepKey)
		}
	}
	slices.Sort(firing)
	slices.Sort(resolved)
	return firing, resolved
}

func subset(of, in []string) bool {
	for _, x := range in {
		if _, ok := slices.BinarySearch(of, x); !ok {
			return false
		}
	}
	return true
}

func reason(last *Sent, firing, resolved []string, o GroupOpts, now time.Time) Reason {
	switch {
	case last == nil:
		if len(firing) > 0 {
			return ReasonFirst
		}
		return ReasonNone
	case !subset(last.Firing, firing):
		if len(last.Firing) == 0 {
			return ReasonFirst
		}
		return ReasonNewAlerts
	case len(firing) == 0:
		if len(last.Firing) > 0 {
			return ReasonAllResolved
		}
		return ReasonNone
	case o.SendResolved && !subset(last.Resolved, resolved):
		return ReasonNewResolved
	case last.At.Before(now.Add(-o.RepeatInterval)):
		return ReasonRepeatElapsed
	}
	return ReasonNone
}
