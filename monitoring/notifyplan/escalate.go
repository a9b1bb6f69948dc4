package notifyplan

import (
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/monitoring/alarm"
)

// EscalationPrefix starts the step key of an escalation:
// "escalate.<start of the problem, unix ms>".
const EscalationPrefix = "escalate."

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
// layer queues it for e.Receiver due then, claimed as step key
// EscalationStepKey(c), so it happens once per problem, and checks
// EscalationCancelled when it comes due.
func EscalationDue(c alarm.Case, e Escalation) time.Time {
	if e.Receiver == "" || e.After <= 0 || !c.State.Firing() || c.AckedBy != "" || c.Priority > e.MaxPriority {
		return time.Time{}
	}
	return c.StartsAt.Add(e.After)
}

// EscalationStepKey is the step key of the escalation of c's current
// problem: the same for every step of one problem, another for the next.
func EscalationStepKey(c alarm.Case) string {
	return EscalationPrefix + strconv.FormatInt(c.StartsAt.UnixMilli(), 10)
}

// IsEscalation reports whether a step key is an escalation's.
func IsEscalation(stepKey string) bool { return strings.HasPrefix(stepKey, EscalationPrefix) }

// EscalationCancelled says why the escalation of step key stepKey is not
// sent when it comes due on case c ("" when it is): the case was
// acknowledged, or the problem it was for ended (resolved, or another
// problem opened since).
func EscalationCancelled(c alarm.Case, stepKey string) string {
	switch {
	case !c.State.Firing() || EscalationStepKey(c) != stepKey:
		return "the problem ended before it escalated"
	case c.AckedBy != "":
		return "acknowledged by " + c.AckedBy + " before it escalated"
	}
	return ""
}
