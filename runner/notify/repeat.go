package notify

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/alarm"
	"github.com/wharfhq/wharf/monitoring/notifyplan"
	"github.com/wharfhq/wharf/monitoring/receiver"
)

// repeatPrefix starts the step key of a repeat: "repeat.<n>.<step key>".
const repeatPrefix = "repeat."

// parseRepeat splits a repeat step key into the repeated step and n (0
// and the key itself for a step that is no repeat).
func parseRepeat(stepKey string) (base string, n int) {
	rest, ok := strings.CutPrefix(stepKey, repeatPrefix)
	if !ok {
		return stepKey, 0
	}
	num, base, ok := strings.Cut(rest, ".")
	if n, err := strconv.Atoi(num); ok && err == nil && n > 0 {
		return base, n
	}
	return stepKey, 0
}

// repeatStale reports whether a repeat claim has nothing to repeat: its
// case resolved or moved to another step since.
func repeatStale(c alarm.Case, cl wire.Claim) bool {
	base, n := parseRepeat(cl.StepKey)
	return n > 0 && (c.StepKey != base || !c.State.Firing())
}

// superseded reports whether cl is a retried firing step (an attempt
// failed before) of a case whose resolution this receiver was already
// sent: sent now, the firing would arrive after the resolution and read
// as firing again. A firing never attempted yet goes out before its
// resolution (a case's steps leave in order), a retried one whose
// resolution waits goes out before or with it, and an escalation has its
// own rule (cancelEscalation).
func (n *Notifier) superseded(ctx context.Context, c alarm.Case, cl wire.Claim) bool {
	if cl.Attempts == 0 || resolvedStep(cl.StepKey) || notifyplan.IsEscalation(cl.StepKey) || c.State != alarm.Resolved {
		return false
	}
	if base, _ := parseRepeat(cl.StepKey); c.StepKey == base {
		return false
	}
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	e, err := n.opts.Store.Get(sctx, wire.ClaimKey(receiver.IdempotencyKey(c.ID, c.StepKey, cl.Receiver)))
	if err != nil {
		return false
	}
	var res wire.Claim
	return json.Unmarshal(e.Value, &res) == nil && res.State == wire.ClaimSent
}

// supersededEntry is the history entry of a superseded claim.
func supersededEntry(cl wire.Claim, now time.Time) *alarm.Entry {
	return &alarm.Entry{At: now, Kind: alarm.EntrySuperseded, StepKey: cl.StepKey, Receiver: cl.Receiver, Note: "not sent: the receiver got the case's resolution before this retry came due"}
}

// scheduleRepeat claims the next repeat of a grouped firing step just
// sent: due repeat_interval from now (Alertmanager's repeat_interval, for
// a case that still fires at the same step then). The node that sent
// the step schedules it; one that dies in between loses that repeat,
// never a step.
func (n *Notifier) scheduleRepeat(ctx context.Context, cl wire.Claim, now time.Time) {
	if !cl.Grouped || cl.RepeatInterval <= 0 || resolvedStep(cl.StepKey) {
		return
	}
	base, k := parseRepeat(cl.StepKey)
	next := cl
	next.StepKey = repeatPrefix + strconv.Itoa(k+1) + "." + base
	next.State, next.Node, next.Attempts, next.Result = wire.ClaimQueued, "", 0, ""
	next.NextAt, next.LeaseUntil, next.CreatedAt, next.UpdatedAt = now.Add(cl.RepeatInterval), time.Time{}, now, now
	b, err := json.Marshal(next)
	if err != nil {
		return
	}
	key := receiver.IdempotencyKey(next.Case, next.StepKey, next.Receiver)
	if !n.put(ctx, wire.QueueKey(next.Team, next.Receiver, next.NextAt.UnixMilli(), key), b, 0) {
		return
	}
	n.schedule(queueRef{next.Team, next.Receiver}, next.NextAt)
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if _, err := n.opts.Store.CompareAndSwap(sctx, wire.ClaimKey(key), 0, b, store.PutOptions{}); err != nil && !errors.Is(err, store.ErrConflict) {
		n.log.Warn("cannot schedule a repeat", "err", err) // the queue entry creates it
	}
}
