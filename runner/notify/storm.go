package notify

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/alarm"
	"github.com/wharfhq/wharf/monitoring/labels"
	"github.com/wharfhq/wharf/monitoring/notifyplan"
	"github.com/wharfhq/wharf/monitoring/receiver"
)

// Storm control: a receiver with storm_limit takes at most that many
// messages per storm_interval; beyond it a message is folded (its claims
// settle as folded, the case history says so) and one digest message
// "N more" goes out when the window closes — never a silent drop. The
// worker holds the queue's lease, so it is the only writer of the state.

// admit accounts one message to r at now with the steps of caseIDs:
// false when it is folded into the window's digest. A digest of a closed
// window is sent first.
func (n *Notifier) admit(ctx context.Context, q queueRef, r *receiver.Compiled, caseIDs []string) bool {
	if r == nil || r.StormLimit <= 0 || len(caseIDs) == 0 {
		return true
	}
	mu, _ := n.stormMu.LoadOrStore(q.String(), new(sync.Mutex))
	mu.(*sync.Mutex).Lock() // the queue's lanes send at once
	defer mu.(*sync.Mutex).Unlock()
	s := notifyplan.Storm{Limit: r.StormLimit, Interval: r.StormIntervalDur}
	st, ver := n.stormState(ctx, q)
	next, send, closed := s.Admit(st, caseIDs[0], n.opts.Now())
	if closed.Count > 0 && !n.sendDigest(ctx, q, r, closed) {
		return true // the digest failed: keep the window, send this one
	}
	if !send {
		for _, id := range caseIDs[1:] {
			if len(next.FoldedIDs) < notifyplan.MaxFoldedIDs {
				next.FoldedIDs = append(next.FoldedIDs, id)
			}
		}
	}
	if !n.putStorm(ctx, q, next, ver) {
		return true // another writer (a lost lease): do not fold on a guess
	}
	return send
}

// flushStorm sends the digest of q's window once it has closed.
func (n *Notifier) flushStorm(ctx context.Context, q queueRef) {
	st, ver := n.stormState(ctx, q)
	if st.Folded == 0 {
		return
	}
	r, err := n.loadReceiver(ctx, q.team, q.receiver)
	if err != nil || r.StormLimit <= 0 {
		return
	}
	s := notifyplan.Storm{Limit: r.StormLimit, Interval: r.StormIntervalDur}
	next, d := s.TakeDigest(st, n.opts.Now())
	if d.Count == 0 || !n.sendDigest(ctx, q, r, d) {
		return
	}
	n.putStorm(ctx, q, next, ver)
}

// sendDigest posts the "N more" message of a closed window: a v4 payload
// whose alerts are the folded cases as they are now and whose
// commonAnnotations.summary says how many messages were folded.
func (n *Notifier) sendDigest(ctx context.Context, q queueRef, r *receiver.Compiled, d notifyplan.Digest) bool {
	var alerts []receiver.Alert
	seen := map[string]bool{}
	for _, id := range d.IDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		if c, err := n.loadCase(ctx, id); err == nil {
			alerts = append(alerts, receiver.AlertOf(c))
		}
	}
	p := receiver.Build("{}:{}", q.receiver, labels.Set{}, n.opts.ExternalURL, alerts, r.MaxAlerts)
	p.CommonAnnotations["summary"] = strconv.Itoa(d.Count) + " more"
	var body []byte
	ct := "application/json"
	var err error
	if r.Kind == receiver.KindTemplate && r.Template != nil {
		body, err = r.Template.Render(p)
		ct = r.Template.ContentType()
	} else {
		body, err = json.Marshal(p)
	}
	if err != nil {
		return false
	}
	idem := receiver.IdempotencyKey("storm", strconv.FormatInt(d.WindowStart.UnixMilli(), 10), q.receiver)
	result, err := n.send(ctx, r, q.team, body, ct, idem)
	for id := range seen {
		n.record(ctx, id, alarm.Entry{At: n.opts.Now(), Kind: alarm.EntryCombined, Receiver: q.receiver, Via: string(r.Kind), Result: result, Note: "storm digest: " + strconv.Itoa(d.Count) + " more"})
	}
	return err == nil
}

func (n *Notifier) stormState(ctx context.Context, q queueRef) (notifyplan.StormState, uint64) {
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	var st notifyplan.StormState
	e, err := n.opts.Store.Get(sctx, wire.StormKey(q.team, q.receiver))
	if err != nil || json.Unmarshal(e.Value, &st) != nil {
		return notifyplan.StormState{}, e.Version
	}
	return st, e.Version
}

func (n *Notifier) putStorm(ctx context.Context, q queueRef, st notifyplan.StormState, ver uint64) bool {
	b, err := json.Marshal(st)
	if err != nil {
		return false
	}
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	_, err = n.opts.Store.CompareAndSwap(sctx, wire.StormKey(q.team, q.receiver), ver, b, store.PutOptions{})
	return err == nil
}

// stormDue lists the queues whose storm window closed with folded
// messages (their digest is due).
func (n *Notifier) stormDue(ctx context.Context) []queueRef {
	now := n.opts.Now()
	var out []queueRef
	for e, err := range store.Entries(ctx, n.opts.Store, wire.StormPrefix, store.ScanOptions{PageTimeout: storeTimeout}) {
		if err != nil {
			return out
		}
		var st notifyplan.StormState
		if json.Unmarshal(e.Value, &st) != nil || st.Folded == 0 {
			continue
		}
		team, rcv, ok := cutQueue(e.Key[len(wire.StormPrefix):])
		if !ok {
			continue
		}
		r, err := n.loadReceiver(ctx, team, rcv)
		if err != nil || r.StormLimit <= 0 {
			continue
		}
		if due := (notifyplan.Storm{Limit: r.StormLimit, Interval: r.StormIntervalDur}).DigestDue(st); !due.IsZero() && !now.Before(due) {
			out = append(out, queueRef{team, rcv})
		}
	}
	return out
}

// cutQueue splits "<team>/<receiver>".
func cutQueue(s string) (team, receiver string, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return s[:i], s[i+1:], i > 0 && i < len(s)-1
		}
	}
	return "", "", false
}
