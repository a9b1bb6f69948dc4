package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/egress"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/alarm"
	"github.com/wharfhq/wharf/monitoring/receiver"
)

// deliver settles one queue entry: it reads (or, from the entry, creates)
// the claim, checks silences and inhibition at send time, moves the claim
// to sending, sends, and moves it to sent — or back to queued at a later
// due time, or to dead when the retry budget is spent. It reports whether
// the entry left its place in the queue (settled or moved).
func (n *Notifier) deliver(ctx context.Context, q queueRef, e store.Entry, idem string) bool {
	// The store writes of an attempt outlive ctx (a stopping node
	// finishes what it sent), bounded by storeTimeout each.
	wctx := context.WithoutCancel(ctx)
	cl, ver, ok := n.loadClaim(wctx, e, idem)
	if !ok {
		return false
	}
	now := n.opts.Now()
	if (cl.Combine || cl.Grouped) && (cl.State == wire.ClaimQueued || cl.State == wire.ClaimSending) {
		group := ""
		if cl.Grouped {
			group = cl.GroupKey
		}
		return n.deliverCombined(ctx, q, group, []store.Entry{e})
	}
	switch cl.State {
	case wire.ClaimQueued:
	case wire.ClaimSending:
		if now.Before(cl.LeaseUntil) {
			return false // an attempt of another node may still be in flight
		}
	default: // settled
		n.dropEntry(wctx, e.Key)
		return true
	}
	c, err := n.loadCase(wctx, cl.Case)
	if errors.Is(err, store.ErrNotFound) { // deleted: nothing left to tell
		n.settle(wctx, e.Key, cl, ver, wire.ClaimSkipped, "not sent: the case was deleted", nil)
		return true
	}
	if err != nil {
		n.log.Warn("cannot read case of a delivery", "case", cl.Case, "err", err)
		return false
	}
	if repeatStale(c, cl) {
		n.settle(wctx, e.Key, cl, ver, wire.ClaimSkipped, "not repeated: the case moved on", nil)
		return true
	}
	if n.superseded(wctx, c, cl) { // repeat.go
		n.stats.delivered(resultSuperseded)
		n.settle(wctx, e.Key, cl, ver, wire.ClaimSuperseded, "not sent: the resolution went out first", supersededEntry(cl, now))
		return true
	}
	if n.cancelEscalation(wctx, e.Key, c, cl, ver) {
		return true
	}
	rcv, err := n.loadReceiver(wctx, cl.Team, cl.Receiver)
	if err == nil && (rcv.Kind == receiver.KindSSE || (resolvedStep(cl.StepKey) && !rcv.Resolved())) {
		n.settle(wctx, e.Key, cl, ver, wire.ClaimSkipped, "not sent: "+skipReason(rcv), nil)
		return true
	}
	if err == nil {
		if state, note, merr := n.muted(wctx, cl.Team, c, now); merr != nil {
			n.log.Warn("cannot check silences", "err", merr)
			return false
		} else if state != "" {
			n.stats.delivered(state)
			n.settle(wctx, e.Key, cl, ver, state, note, &alarm.Entry{At: now, Kind: alarm.EntryKind(state), StepKey: cl.StepKey, Receiver: cl.Receiver, Note: note})
			return true
		}
	}
	if err == nil && !n.admit(wctx, q, rcv, []string{cl.Case}) {
		n.stats.delivered(resultFolded)
		n.settle(wctx, e.Key, cl, ver, wire.ClaimFolded, "folded by storm control", &alarm.Entry{At: now, Kind: alarm.EntryCombined, StepKey: cl.StepKey, Receiver: cl.Receiver, Note: "folded by storm control into the next digest"})
		return true
	}
	// sending: an attempt is in flight until LeaseUntil.
	timeout := receiver.DefaultTimeout
	if rcv != nil {
		timeout = rcv.TimeoutDur
	}
	cl.State, cl.Node, cl.Attempts = wire.ClaimSending, n.opts.NodeID, cl.Attempts+1
	cl.LeaseUntil, cl.UpdatedAt = now.Add(timeout+n.opts.LeaseTTL), now
	if ver, ok = n.putClaim(wctx, cl, ver, 0); !ok {
		return false
	}
	var result string
	if err == nil {
		var body []byte
		var ct string
		if body, ct, err = n.body(rcv, cl, []receiver.Alert{n.withAckLink(wctx, c, alertFor(c, cl))}); err == nil {
			result, err = n.send(wctx, rcv, cl.Team, body, ct, idem)
		} else {
			result = err.Error()
		}
	} else {
		result = err.Error()
	}
	via := ""
	if rcv != nil {
		via = string(rcv.Kind)
	}
	n.outcome(wctx, q, e.Key, cl, ver, idem, via, result, err, "")
	return true
}

// outcome settles one attempt of a claim in state sending: sent (with a
// notified history entry, or combined when note says with what), dead
// when the retry budget is spent, else queued again after a back-off.
func (n *Notifier) outcome(ctx context.Context, q queueRef, queueKey string, cl wire.Claim, ver uint64, idem, via, result string, err error, note string) {
	now := n.opts.Now()
	entry := alarm.Entry{At: now, StepKey: cl.StepKey, Receiver: cl.Receiver, Via: via, Result: result, Attempt: cl.Attempts, By: n.opts.NodeID, Note: note}
	if err == nil {
		n.stats.delivered(resultSent)
		entry.Kind = alarm.EntryNotified
		if note != "" {
			entry.Kind = alarm.EntryCombined
		}
		n.settle(ctx, queueKey, cl, ver, wire.ClaimSent, result, &entry)
		n.scheduleRepeat(ctx, cl, now)
		return
	}
	if now.Sub(cl.CreatedAt) >= n.opts.RetryBudget || errors.Is(err, egress.ErrRefused) {
		n.stats.delivered(resultDead)
		entry.Kind = alarm.EntryDead
		cl.Result = result
		if b, merr := json.Marshal(cl); merr == nil {
			n.put(ctx, wire.DeadKey(cl.Team, idem), b, 0)
		}
		n.settle(ctx, queueKey, cl, ver, wire.ClaimDead, result, &entry)
		why := "retry budget spent"
		if errors.Is(err, egress.ErrRefused) {
			why = "receiver address not allowed"
		}
		n.log.Warn("delivery dead: "+why, "queue", q.String(), "case", cl.Case, "step", cl.StepKey, "attempts", cl.Attempts, "result", result)
		return
	}
	n.stats.delivered(resultFailed)
	entry.Kind = alarm.EntryFailed
	n.retry(ctx, queueKey, cl, ver, result, now)
	n.record(ctx, cl.Case, entry)
}

// retry puts the claim back to queued at a later due time: exponential
// back-off from RetryMin, doubled per attempt up to RetryMax, with
// jitter (half fixed, half random). The new queue entry is written before
// the old one is deleted.
func (n *Notifier) retry(ctx context.Context, queueKey string, cl wire.Claim, ver uint64, result string, now time.Time) {
	d := n.opts.RetryMin
	for i := 1; i < cl.Attempts && d < n.opts.RetryMax; i++ {
		d *= 2
	}
	d = min(d, n.opts.RetryMax)
	d = d/2 + rand.N(d/2+1)
	cl.State, cl.NextAt, cl.Result, cl.LeaseUntil, cl.UpdatedAt = wire.ClaimQueued, now.Add(d), result, time.Time{}, now
	if _, ok := n.putClaim(ctx, cl, ver, 0); !ok {
		return
	}
	b, _ := json.Marshal(cl)
	if !n.put(ctx, wire.QueueKey(cl.Team, cl.Receiver, cl.NextAt.UnixMilli(), keyOf(queueKey)), b, 0) {
		return // the old entry stays and is retried at once: nothing lost
	}
	n.schedule(queueRef{cl.Team, cl.Receiver}, cl.NextAt)
	n.dropEntry(ctx, queueKey)
}

// settle moves the claim to a final state (kept ClaimTTL), records the
// history entry when there is one, and deletes the queue entry.
func (n *Notifier) settle(ctx context.Context, queueKey string, cl wire.Claim, ver uint64, state, result string, entry *alarm.Entry) {
	cl.State, cl.Result, cl.UpdatedAt, cl.LeaseUntil = state, result, n.opts.Now(), time.Time{}
	if _, ok := n.putClaim(ctx, cl, ver, n.opts.ClaimTTL); !ok {
		return
	}
	if entry != nil {
		n.record(ctx, cl.Case, *entry)
	}
	n.dropEntry(ctx, queueKey)
}

// loadClaim reads the claim of a queue entry, creating it from the
// entry's value when the dispatcher died between the two writes.
func (n *Notifier) loadClaim(ctx context.Context, e store.Entry, idem string) (wire.Claim, uint64, bool) {
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	var cl wire.Claim
	ce, err := n.opts.Store.Get(sctx, wire.ClaimKey(idem))
	if errors.Is(err, store.ErrNotFound) {
		if json.Unmarshal(e.Value, &cl) != nil || cl.Case == "" {
			n.log.Warn("queue entry without claim dropped", "key", e.Key)
			n.dropEntry(ctx, e.Key)
			return cl, 0, false
		}
		v, err := n.opts.Store.CompareAndSwap(sctx, wire.ClaimKey(idem), 0, e.Value, store.PutOptions{})
		if err != nil {
			return cl, 0, false // taken meanwhile: the next pass reads it
		}
		return cl, v, true
	}
	if err != nil {
		n.log.Warn("cannot read claim", "err", err)
		return cl, 0, false
	}
	if err := json.Unmarshal(ce.Value, &cl); err != nil {
		n.log.Warn("claim unreadable", "key", ce.Key, "err", err)
		return cl, 0, false
	}
	return cl, ce.Version, true
}

// putClaim writes cl over version ver; false when another node moved it.
// A store error (Redis restarting) is retried for up to storeTimeout: a
// claim left "sending" after a delivered message would be sent again.
func (n *Notifier) putClaim(ctx context.Context, cl wire.Claim, ver uint64, ttl time.Duration) (uint64, bool) {
	b, err := json.Marshal(cl)
	if err != nil {
		return 0, false
	}
	key := receiver.IdempotencyKey(cl.Case, cl.StepKey, cl.Receiver)
	deadline := time.Now().Add(storeTimeout)
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		sctx, cancel := context.WithTimeout(ctx, storeTimeout)
		v, err := n.opts.Store.CompareAndSwap(sctx, wire.ClaimKey(key), ver, b, store.PutOptions{TTL: ttl})
		cancel()
		switch {
		case err == nil:
			return v, true
		case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound), time.Now().Add(wait).After(deadline):
			if !errors.Is(err, store.ErrConflict) {
				n.log.Warn("cannot move claim", "state", cl.State, "err", err)
			}
			return 0, false
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, false
		case <-t.C:
		}
	}
}

func (n *Notifier) put(ctx context.Context, key string, val []byte, ttl time.Duration) bool {
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if _, err := n.opts.Store.Put(sctx, key, val, store.PutOptions{TTL: ttl}); err != nil {
		n.log.Warn("cannot write delivery state", "err", err)
		return false
	}
	return true
}

func (n *Notifier) dropEntry(ctx context.Context, key string) {
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if _, err := n.opts.Store.Delete(sctx, key); err != nil && !errors.Is(err, store.ErrNotFound) {
		n.log.Warn("cannot delete queue entry", "err", err)
	}
}

// record appends a history entry to the case (compare-and-swap).
func (n *Notifier) record(ctx context.Context, id string, entry alarm.Entry) {
	if _, _, err := n.updateCase(ctx, id, func(c alarm.Case) (alarm.Case, []alarm.Change) {
		if c.ID == "" {
			return c, nil
		}
		return alarm.Record(c, entry), nil
	}); err != nil {
		n.log.Warn("cannot record delivery in the case history", "case", id, "err", err)
	}
}

func (n *Notifier) loadCase(ctx context.Context, id string) (alarm.Case, error) {
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	var c alarm.Case
	e, err := n.opts.Store.Get(sctx, wire.CaseKey(id))
	if err != nil {
		return c, fmt.Errorf("cannot read case %s: %w", id, err)
	}
	if err := json.Unmarshal(e.Value, &c); err != nil {
		return c, fmt.Errorf("cannot read case %s: %w", id, err)
	}
	return c, nil
}

// loadReceiver reads and compiles a receiver; its errors are the
// delivery's result (retried: the receiver may be written meanwhile).
func (n *Notifier) loadReceiver(ctx context.Context, team, name string) (*receiver.Compiled, error) {
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	e, err := n.opts.Store.Get(sctx, wire.ReceiverKey(team, name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("receiver %q not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read receiver %q: %w", name, err)
	}
	var r receiver.Receiver
	if err := json.Unmarshal(e.Value, &r); err != nil {
		return nil, fmt.Errorf("receiver %q unreadable", name)
	}
	c, err := receiver.Compile(r)
	if err != nil {
		return nil, fmt.Errorf("receiver %q invalid: %w", name, err)
	}
	return c, nil
}

// resolvedStep reports whether a step key is a resolution (OK of a judge
// case, resolved of a posted alert).
func resolvedStep(stepKey string) bool {
	return strings.HasPrefix(stepKey, "OK.") || strings.HasPrefix(stepKey, "resolved.")
}

func skipReason(r *receiver.Compiled) string {
	if r.Kind == receiver.KindSSE {
		return "an sse receiver is served by the stream"
	}
	return "send_resolved is false"
}

// keyOf is the idempotency key at the end of a queue key.
func keyOf(queueKey string) string { return queueKey[strings.LastIndexByte(queueKey, '/')+1:] }
