package notifyplan

import (
	"time"

	"github.com/wharfhq/wharf/monitoring/alarm"
)

// Escalation sends a case that nobody acknowledged to a second receiver:
// cases of priority ≤ MaxPriority still firing and unacknowledged After
// their start go to Receiver, once per problem.
type Escalation struct {
	Receiver    string        `json:"receiver"`
	MaxPriority int           `json:"max_priority"`
	After       time.Duration `json:"after"`
}

// EscalationDue is when c escalates (zero: it does not — resolved,
// acknowledged, of a lower priority, or no escalation set). The notify
// layer sends it to e.Receiver then, claimed as step key
// "escalate." + c.StepKey of the opening, so it happens once.
func EscalationDue(c alarm.Case, e Escalation) time.Time {
	if e.Receiver == "" || e.After <= 0 || !c.State.Firing() || c.AckedBy != "" || c.Priority > e.MaxPriority {
		return time.Time{}
	}
	return c.StartsAt.Add(e.After)
}
