package notify

import (
	"context"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/monitoring/alarm"
	"github.com/wharfhq/wharf/monitoring/amroute"
	"github.com/wharfhq/wharf/monitoring/notifyplan"
)

// escalation is the escalation of one matched route: to whom (a target
// sent at once, neither combined nor grouped) and when.
type escalation struct {
	target
	plan notifyplan.Escalation
}

// escalationOf is the escalation of route r for labels of c, if r has one.
func escalationOf(r *amroute.Route, c alarm.Case) (escalation, bool) {
	e := r.Opts.Escalate
	if e.Receiver == "" {
		return escalation{}, false
	}
	return escalation{
		target: target{receiver: e.Receiver, groupKey: r.GroupKey(c.Labels), groupLabels: r.GroupLabels(c.Labels)},
		plan:   notifyplan.Escalation{Receiver: e.Receiver, MaxPriority: e.MaxPriority, After: e.After},
	}, true
}

// escalate queues the escalation of c's current problem to each of escs
// whose plan says it escalates, due at its start + after. It is a claim
// like any delivery (step key notifyplan.EscalationStepKey: one per
// problem and receiver across all nodes); the due time lives in the
// queue entry, so a restarted node carries it out. When it comes due,
// deliver cancels it if the case was acknowledged or the problem ended.
func (n *Notifier) escalate(ctx context.Context, team string, c alarm.Case, escs []escalation) error {
	for _, e := range escs {
		due := notifyplan.EscalationDue(c, e.plan)
		if due.IsZero() {
			continue
		}
		ch := alarm.Change{State: c.State, StepKey: notifyplan.EscalationStepKey(c), At: due, Status: c.Status(), Step: c.Step}
		if err := n.claim(ctx, team, c, ch, e.target); err != nil {
			return err
		}
	}
	return nil
}

// cancelEscalation settles an escalation that came due on a case
// acknowledged meanwhile, or whose problem ended, as skipped with a
// "cancelled" history entry; false when it is still to be sent.
func (n *Notifier) cancelEscalation(ctx context.Context, queueKey string, c alarm.Case, cl wire.Claim, ver uint64) bool {
	if !notifyplan.IsEscalation(cl.StepKey) {
		return false
	}
	why := notifyplan.EscalationCancelled(c, cl.StepKey)
	if why == "" {
		return false
	}
	n.settle(ctx, queueKey, cl, ver, wire.ClaimSkipped, "not escalated: "+why,
		&alarm.Entry{At: n.opts.Now(), Kind: alarm.EntryCancelled, StepKey: cl.StepKey, Receiver: cl.Receiver, Note: why})
	return true
}

// escalated marks the payload alert of an escalation: the annotation
// "escalated" says why it reached this receiver.
func escalated(a alarm.Case, cl wire.Claim, ann map[string]string) map[string]string {
	if !notifyplan.IsEscalation(cl.StepKey) {
		return ann
	}
	out := make(map[string]string, len(ann)+1)
	for k, v := range ann {
		out[k] = v
	}
	out["escalated"] = "not acknowledged since " + a.StartsAt.UTC().Format("2006-01-02 15:04:05Z")
	return out
}
