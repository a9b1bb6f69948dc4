package notify

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/alarm"
	"github.com/wharfhq/wharf/monitoring/notifyplan"
	"github.com/wharfhq/wharf/monitoring/receiver"
)

// combinable is one due claim of a combined (priority 3–6) step.
type combinable struct {
	key string // queue key
	cl  wire.Claim
	ver uint64
	c   alarm.Case
}

// deliverCombined sends the due combined steps of q as one message, at
// most once per CombineInterval (Open-Falcon's combining): before the
// interval since the last combined message has passed, the steps wait
// in the queue until it has. Each step keeps its own claim; the message's
// Idempotency-Key is receiver.GroupIdempotencyKey of its steps. The
// worker holds q's lease, so it is the only writer of q's combining state.
//
// With a group (a grouped claim's group key) it sends the due grouped
// steps of that group key together instead, with no interval: the group
// schedule's group_wait is already in their due times. entries are the
// due queue entries of the combined steps or of the group (its lane).
func (n *Notifier) deliverCombined(ctx context.Context, q queueRef, group string, entries []store.Entry) bool {
	wctx := context.WithoutCancel(ctx)
	now := n.opts.Now()
	var items []combinable
	for _, e := range entries {
		_, due, idem, ok := parseQueueKey(e.Key)
		if !ok || due > now.UnixMilli() {
			continue
		}
		cl, ver, ok := n.loadClaim(wctx, e, idem)
		if !ok || (group == "" && !cl.Combine) || (group != "" && (!cl.Grouped || cl.GroupKey != group)) {
			continue
		}
		switch {
		case cl.State != wire.ClaimQueued && cl.State != wire.ClaimSending:
			n.dropEntry(wctx, e.Key)
		case cl.State == wire.ClaimSending && now.Before(cl.LeaseUntil):
		case cl.State == wire.ClaimQueued && cl.NextAt.After(now):
			// Not due: an entry left at an earlier time (a node stopped
			// between a retry's new entry and deleting the old one)
			// moves to the claim's time rather than joining the message.
			b, _ := json.Marshal(cl)
			if n.put(wctx, wire.QueueKey(q.team, q.receiver, cl.NextAt.UnixMilli(), idem), b, 0) {
				n.schedule(q, cl.NextAt)
				n.dropEntry(wctx, e.Key)
			}
		default:
			items = append(items, combinable{key: e.Key, cl: cl, ver: ver})
		}
	}
	if len(items) == 0 {
		return false
	}
	stateKey, interval := wire.CombineKey(q.team, q.receiver), n.opts.CombineInterval
	if group != "" {
		stateKey, interval = wire.GroupStateKey(q.team, q.receiver, group), items[0].cl.GroupInterval
	}
	lastSent, stateVer := n.lastSent(wctx, stateKey)
	if next := lastSent.Add(interval); interval > 0 && !lastSent.IsZero() && now.Before(next) {
		for _, it := range items { // wait for the interval, in the queue
			b, _ := json.Marshal(it.cl)
			if n.put(wctx, wire.QueueKey(q.team, q.receiver, next.UnixMilli(), keyOf(it.key)), b, 0) {
				n.schedule(q, next)
				n.dropEntry(wctx, it.key)
			}
		}
		return true
	}
	rcv, rerr := n.loadReceiver(wctx, q.team, q.receiver)
	var send []combinable
	for _, it := range items {
		c, err := n.loadCase(wctx, it.cl.Case)
		if err != nil {
			continue
		}
		it.c = c
		if repeatStale(c, it.cl) {
			n.settle(wctx, it.key, it.cl, it.ver, wire.ClaimSkipped, "not repeated: the case moved on", nil)
			continue
		}
		if n.superseded(wctx, c, it.cl) {
			n.stats.delivered(resultSuperseded)
			n.settle(wctx, it.key, it.cl, it.ver, wire.ClaimSuperseded, "not sent: the resolution went out first", supersededEntry(it.cl, now))
			continue
		}
		if rerr == nil {
			if rcv.Kind == receiver.KindSSE || (resolvedStep(it.cl.StepKey) && !rcv.Resolved()) {
				n.settle(wctx, it.key, it.cl, it.ver, wire.ClaimSkipped, "not sent: "+skipReason(rcv), nil)
				continue
			}
			state, note, err := n.muted(wctx, q.team, c, now)
			if err != nil {
				return false
			}
			if state != "" {
				n.stats.delivered(state)
				n.settle(wctx, it.key, it.cl, it.ver, state, note, &alarm.Entry{At: now, Kind: alarm.EntryKind(state), StepKey: it.cl.StepKey, Receiver: it.cl.Receiver, Note: note})
				continue
			}
		}
		timeout := receiver.DefaultTimeout
		if rcv != nil {
			timeout = rcv.TimeoutDur
		}
		it.cl.State, it.cl.Node, it.cl.Attempts = wire.ClaimSending, n.opts.NodeID, it.cl.Attempts+1
		it.cl.LeaseUntil, it.cl.UpdatedAt = now.Add(timeout+n.opts.LeaseTTL), now
		v, ok := n.putClaim(wctx, it.cl, it.ver, 0)
		if !ok {
			continue
		}
		it.ver = v
		send = append(send, it)
	}
	if len(send) == 0 {
		return true
	}
	ids := make([]string, len(send))
	for i, it := range send {
		ids[i] = it.cl.Case
	}
	if rerr == nil && !n.admit(wctx, q, rcv, ids) {
		for _, it := range send {
			n.stats.delivered(resultFolded)
			n.settle(wctx, it.key, it.cl, it.ver, wire.ClaimFolded, "folded by storm control", &alarm.Entry{At: now, Kind: alarm.EntryCombined, StepKey: it.cl.StepKey, Receiver: it.cl.Receiver, Note: "folded by storm control into the next digest"})
		}
		return true
	}
	alerts := make([]receiver.Alert, len(send))
	steps := make([]receiver.Step, len(send))
	for i, it := range send {
		alerts[i] = n.withAckLink(wctx, it.c, alertFor(it.c, it.cl))
		steps[i] = receiver.Step{CaseID: it.cl.Case, StepKey: it.cl.StepKey}
	}
	idem := receiver.GroupIdempotencyKey(q.receiver, steps)
	var result string
	err := rerr
	via := ""
	if rerr != nil {
		result = rerr.Error()
	} else {
		via = string(rcv.Kind)
		var body []byte
		var ct string
		if body, ct, err = n.body(rcv, send[0].cl, alerts); err == nil {
			result, err = n.send(wctx, rcv, q.team, body, ct, idem)
		} else {
			result = err.Error()
		}
	}
	if err == nil {
		var b []byte
		ttl := time.Duration(0)
		if group == "" {
			b, _ = json.Marshal(notifyplan.Combiner{LastSent: now})
		} else {
			b, _ = json.Marshal(notifyplan.Group{Key: group, LastFlush: now})
			ttl = interval + time.Hour // a quiet group is forgotten
		}
		sctx, cancel := context.WithTimeout(wctx, storeTimeout)
		_, _ = n.opts.Store.CompareAndSwap(sctx, stateKey, stateVer, b, store.PutOptions{TTL: ttl})
		cancel()
	}
	note := "combined: " + strconv.Itoa(len(send)) + " steps in message " + idem
	if group != "" {
		note = ""
		if len(send) > 1 {
			note = "grouped: " + strconv.Itoa(len(send)) + " steps in message " + idem
		}
	}
	for _, it := range send {
		n.outcome(wctx, q, it.key, it.cl, it.ver, receiver.IdempotencyKey(it.cl.Case, it.cl.StepKey, it.cl.Receiver), via, result, err, note)
	}
	return true
}

// lastSent reads when the last combined (or group) message went out, and
// the state's version (0: none yet).
func (n *Notifier) lastSent(ctx context.Context, key string) (time.Time, uint64) {
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	e, err := n.opts.Store.Get(sctx, key)
	if err != nil {
		return time.Time{}, 0
	}
	var st struct {
		LastSent  time.Time `json:"last_sent"`  // notifyplan.Combiner
		LastFlush time.Time `json:"last_flush"` // notifyplan.Group
	}
	if json.Unmarshal(e.Value, &st) != nil {
		return time.Time{}, e.Version
	}
	if st.LastSent.IsZero() {
		return st.LastFlush, e.Version
	}
	return st.LastSent, e.Version
}
