package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/alarm"
	"github.com/wharfhq/wharf/monitoring/amroute"
	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/monitoring/notifyplan"
	"github.com/wharfhq/wharf/monitoring/receiver"
	"github.com/wharfhq/wharf/runner/notify"
)

// Escalation on two nodes with a clock the test moves: of three opened
// cases, the one nobody acknowledged goes to the escalation receiver
// once (also after a second step of its problem, and with both nodes
// restarted before it came due: the due time is in the store); the
// acknowledged one and the resolved one never do, and their case history
// says why.
func TestEscalationOnceUnlessAcknowledged(t *testing.T) {
	e := newEnv(t)
	oncall, boss := newHook(t, 0), newHook(t, 0)
	e.putReceiver(receiver.Receiver{Name: "oncall", Team: "shop", Kind: receiver.KindWebhook, URL: oncall.srv.URL})
	e.putReceiver(receiver.Receiver{Name: "boss", Team: "shop", Kind: receiver.KindWebhook, URL: boss.srv.URL})
	e.putRoute("shop", amroute.Config{Receiver: "oncall", Escalate: &amroute.EscalateConfig{Receiver: "boss", After: "10m"}})
	var skew atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	a := e.start("a", notify.Options{Now: clock})
	b := e.start("b", notify.Options{Now: clock})

	at := time.Now().Unix() - 180 // event times are point times, in the past; the escalations are due at +10m
	waitDelivered(t, oncall, phase(e, 1, 4, event.Problem, 1, at, "oncall"), 30*time.Second)
	escKey := func(i int) string {
		c := e.readCase(judgeEvent(i, event.Problem, 1, at).ID)
		return receiver.IdempotencyKey(c.ID, notifyplan.EscalationStepKey(c), "boss")
	}
	keys := map[int]string{1: escKey(1), 2: escKey(2), 3: escKey(3)}
	for i, k := range keys {
		if cl := e.claim(k); cl.State != wire.ClaimQueued {
			t.Fatalf("case %d: escalation claim %+v, want queued", i, cl)
		}
	}
	// Case 1 steps (same problem: same escalation), case 2 is
	// acknowledged, case 3 resolves.
	waitDelivered(t, oncall, phase(e, 1, 2, event.Problem, 2, at+60, "oncall"), 30*time.Second)
	id2 := judgeEvent(2, event.Problem, 1, at).ID
	if _, err := store.Update(context.Background(), e.st, wire.CaseKey(id2), store.RetryOptions{}, func(cur store.Entry, ok bool) ([]byte, store.PutOptions, error) {
		var c alarm.Case
		if err := json.Unmarshal(cur.Value, &c); err != nil {
			return nil, store.PutOptions{}, err
		}
		c, _ = alarm.Ack(c, "ana", time.Now())
		b, err := json.Marshal(c)
		return b, store.PutOptions{}, err
	}); err != nil {
		t.Fatal(err)
	}
	waitDelivered(t, oncall, phase(e, 3, 4, event.OK, 1, at+60, "oncall"), 30*time.Second)
	if n, _ := boss.delivered(); n != 0 {
		t.Fatalf("boss got %d messages before anything was due", n)
	}

	// Both nodes go; a new one comes after the escalations came due.
	a.stop()
	b.stop()
	skew.Store(int64(11 * time.Minute))
	e.start("c", notify.Options{Now: clock})
	testenv.Eventually(t, 30*time.Second, func() error {
		for i, want := range map[int]string{1: wire.ClaimSent, 2: wire.ClaimSkipped, 3: wire.ClaimSkipped} {
			if cl := e.claim(keys[i]); cl.State != want {
				return fmt.Errorf("case %d: escalation %q (%s), want %s", i, cl.State, cl.Result, want)
			}
		}
		return nil
	})
	if n, most := boss.delivered(); n != 1 || most != 1 || boss.requestsOf(keys[1]) != 1 {
		t.Fatalf("boss got %d keys, at most %d times each; want case 1's once", n, most)
	}
	p := boss.payloads[0]
	if p.Receiver != "boss" || p.Status != "firing" || len(p.Alerts) != 1 || p.Alerts[0].Annotations["escalated"] == "" {
		t.Fatalf("escalation payload %+v", p)
	}
	for i, why := range map[int]string{2: "acknowledged by ana before it escalated", 3: "the problem ended before it escalated"} {
		c := e.readCase(judgeEvent(i, event.Problem, 1, at).ID)
		last := c.History[len(c.History)-1]
		if last.Kind != alarm.EntryCancelled || last.Receiver != "boss" || last.Note != why {
			t.Fatalf("case %d: last history entry %+v, want cancelled: %s", i, last, why)
		}
	}
}
