package notifyplan

import "time"

// DefaultCombineInterval is Falcon's: low-priority alarms go to a
// receiver at most once a minute, combined.
const DefaultCombineInterval = 60 * time.Second

// CombineMaxPriority is the highest priority (lowest number) sent at once;
// 3..6 are combined.
const CombineMaxPriority = 2

// Immediate reports whether an alarm of priority p goes out on its own at
// once (0–2) rather than combined with others (3–6), as Falcon's alarm.
func Immediate(p int) bool { return p <= CombineMaxPriority }

// Item is one change waiting to be combined.
type Item struct {
	CaseID  string    `json:"case_id"`
	StepKey string    `json:"step_key"`
	At      time.Time `json:"at"`
}

// Combiner is the combining state of one receiver.
type Combiner struct {
	// LastSent is when the last combined message went to the receiver.
	LastSent time.Time `json:"last_sent,omitzero"`
	// Pending are the items waiting, oldest first.
	Pending []Item `json:"pending,omitempty"`
}

// AddCombined queues an item (priority 3–6) for the receiver. The same
// (case, step) queued twice is kept once, so a redelivered event is
// harmless.
func AddCombined(c Combiner, it Item) Combiner {
	for _, p := range c.Pending {
		if p.CaseID == it.CaseID && p.StepKey == it.StepKey {
			return c
		}
	}
	c.Pending = append(append([]Item(nil), c.Pending...), it)
	return c
}

// CombineDue is when the pending items are due: combine_interval after
// the last combined message, or at once (when the oldest item came) if
// none went out within the interval. Zero when nothing is pending.
// interval 0 means DefaultCombineInterval.
func CombineDue(c Combiner, interval time.Duration) time.Time {
	if len(c.Pending) == 0 {
		return time.Time{}
	}
	if interval <= 0 {
		interval = DefaultCombineInterval
	}
	due := c.Pending[0].At
	if next := c.LastSent.Add(interval); !c.LastSent.IsZero() && next.After(due) {
		due = next
	}
	return due
}

// TakeCombined returns the items to send in one message at now (all that
// are pending, when due; none before) and the state after sending.
func TakeCombined(c Combiner, interval time.Duration, now time.Time) ([]Item, Combiner) {
	due := CombineDue(c, interval)
	if due.IsZero() || now.Before(due) {
		return nil, c
	}
	return c.Pending, Combiner{LastSent: now}
}
