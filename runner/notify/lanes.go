package notify

import (
	"context"
	"encoding/json"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/store"
)

// maxDueListed bounds the due entries of one queue a worker reads at once;
// it reads again when it has started them all.
const maxDueListed = 1000

// A worker splits its queue's due entries into lanes: the entries that go
// out in order, or in one message. A lane is one group's steps (one
// message, as the group schedule says), Falcon's combined steps (one
// message per combine interval) or one case's other steps (in due order).
// Lanes do not wait for each other: up to SendsPerQueue of them are sent
// at once, so a receiver's slow or retried message does not hold up its
// other groups. The worker holds the queue's lease, so its lanes are the
// only senders of the queue; each lane is the only writer of its group's
// or combining state, and storm control is serialised per queue.
type lane struct {
	key     string // "g/<group key>", "c/", "k/<case>" or "e/<queue key>"
	group   string // the group key of a "g/" lane
	entries []store.Entry
}

// laneKey is the lane of a queue entry, from its value: the claim as first
// written, whose case, Combine, Grouped and GroupKey never change (so the
// claims are not read to sort them). An entry it cannot read is a lane of
// its own (its claim decides how it is sent).
func laneKey(e store.Entry) (key, group string) {
	var head struct {
		Case     string `json:"case"`
		GroupKey string `json:"group_key"`
		Combine  bool   `json:"combine"`
		Grouped  bool   `json:"grouped"`
	}
	switch {
	case json.Unmarshal(e.Value, &head) != nil || head.Case == "":
		return "e/" + e.Key, ""
	case head.Grouped:
		return "g/" + head.GroupKey, head.GroupKey
	case head.Combine:
		return "c/", ""
	default:
		return "k/" + head.Case, ""
	}
}

// dueLanes reads q's entries due now (at most maxDueListed) into lanes,
// in the due order of each lane's first entry, and returns the due time
// of the next entry (0: none).
func (n *Notifier) dueLanes(ctx context.Context, q queueRef) (lanes []lane, next int64, err error) {
	now := n.opts.Now().UnixMilli()
	at := map[string]int{}
	count := 0
	for e, err := range store.Entries(ctx, n.opts.Store, wire.QueueOf(q.team, q.receiver), store.ScanOptions{PageTimeout: storeTimeout}) {
		if err != nil {
			return lanes, next, err
		}
		_, due, _, ok := parseQueueKey(e.Key)
		if ok && count == maxDueListed {
			due = min(due, now) // more are due: read again soon
		}
		if !ok || due > now || count == maxDueListed {
			next = due
			break
		}
		count++
		key, group := laneKey(e)
		i, ok := at[key]
		if !ok {
			i = len(lanes)
			at[key] = i
			lanes = append(lanes, lane{key: key, group: group})
		}
		lanes[i].entries = append(lanes[i].entries, e)
	}
	return lanes, next, nil
}

// laneDone is a finished lane and whether it sent or settled anything.
type laneDone struct {
	key        string
	progressed bool
}

// runLanes delivers q's due lanes, SendsPerQueue at once, reading the
// queue again when it has started every lane it read and one finished
// having done something, or when nudged (something came due). A lane
// that did nothing (its claims are in flight elsewhere) does not make it
// read again, so it is tried again only when others move on. It returns when nothing is in flight and nothing
// is left to start, or ctx ended and the lanes in flight finished; it
// reports whether anything was sent or settled, and the due time of the
// first entry not due at the last reading (0: none).
func (n *Notifier) runLanes(ctx context.Context, q queueRef, nudge <-chan struct{}) (bool, int64) {
	busy := map[string]bool{}
	done := make(chan laneDone)
	var pending []lane
	relist, progressed, next := true, false, int64(0)
	for {
		if relist && ctx.Err() == nil {
			relist = false
			var lanes []lane
			var err error
			lanes, next, err = n.dueLanes(ctx, q)
			if err != nil && ctx.Err() == nil {
				n.log.Warn("cannot list delivery queue", "queue", q.String(), "err", err)
			}
			pending = pending[:0]
			for _, l := range lanes {
				if !busy[l.key] {
					pending = append(pending, l)
				}
			}
		}
		for ctx.Err() == nil && len(pending) > 0 && len(busy) < n.opts.SendsPerQueue {
			l := pending[0]
			pending = pending[1:]
			busy[l.key] = true
			go func() { done <- laneDone{l.key, n.runLane(ctx, q, l)} }()
		}
		if len(busy) == 0 {
			return progressed, next
		}
		select {
		case d := <-done:
			delete(busy, d.key)
			if d.progressed {
				progressed = true
				relist = relist || len(pending) == 0
			}
		case <-nudge:
			relist = true
		}
	}
}

// runLane sends one lane: a group's or the combined steps as one message,
// a case's steps one by one in due order.
func (n *Notifier) runLane(ctx context.Context, q queueRef, l lane) bool {
	switch l.key[:2] {
	case "g/":
		return n.deliverCombined(ctx, q, l.group, l.entries)
	case "c/":
		return n.deliverCombined(ctx, q, "", l.entries)
	}
	progressed := false
	for _, e := range l.entries {
		if ctx.Err() != nil {
			break
		}
		_, _, idem, ok := parseQueueKey(e.Key)
		if ok && n.deliver(ctx, q, e, idem) {
			progressed = true
		}
	}
	return progressed
}
