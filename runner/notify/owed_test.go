package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/alarm"
	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/monitoring/receiver"
	"github.com/wharfhq/wharf/runner/notify"
)

// owe writes ev's owed entry as the judge does before publishing it,
// handed over at.
func (e *env) owe(ev event.Event, at time.Time) string {
	e.t.Helper()
	body, err := event.Marshal(ev)
	if err != nil {
		e.t.Fatal(err)
	}
	val, err := wire.EncodeOwed(body, at, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	key := wire.OwedKey(ev.ID, alarm.StepKey(ev))
	if _, err := e.st.Put(context.Background(), key, val, store.PutOptions{}); err != nil {
		e.t.Fatal(err)
	}
	return key
}

func (e *env) waitSettled(key string) {
	e.t.Helper()
	testenv.Eventually(e.t, 10*time.Second, func() error {
		if _, err := e.st.Get(context.Background(), key); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%s still owed (%v)", key, err)
		}
		return nil
	})
}

// A PROBLEM that nsqd lost (owed, never delivered) does not let the OK
// after it overtake it: notify applies and sends the owed PROBLEM first,
// then the OK — before, the OK changed nothing on a case that was not
// firing and neither was ever sent. Both owed entries are settled.
func TestOwedEventNotOvertaken(t *testing.T) {
	e := newEnv(t)
	h := newHook(t, 0)
	e.putReceiver(receiver.Receiver{Name: "ops", Team: "shop", Kind: receiver.KindWebhook, URL: h.srv.URL})
	e.start("a", notify.Options{OwedAfter: -1}) // no reconciler: only the OK comes
	at := time.Now().Unix() - 600
	problem, ok := judgeEvent(1, event.Problem, 1, at), judgeEvent(1, event.OK, 1, at+60)
	lost := e.owe(problem, time.Now())
	okKey := e.owe(ok, time.Now())
	e.publishEvents(ok)
	want := map[string]bool{
		receiver.IdempotencyKey(problem.ID, alarm.StepKey(problem), "ops"): true,
		receiver.IdempotencyKey(ok.ID, alarm.StepKey(ok), "ops"):           true,
	}
	waitDelivered(t, h, want, 30*time.Second)
	e.waitSettled(lost)
	e.waitSettled(okKey)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.payloads) != 2 || h.payloads[0].Status != "firing" || h.payloads[1].Status != "resolved" {
		t.Fatalf("payloads %+v, want firing then resolved", h.payloads)
	}
	if c := e.readCase(problem.ID); c.State != alarm.Resolved {
		t.Fatalf("case is %s, want resolved", c.State)
	}
}

// An event owed longer than OwedAfter (nsqd lost it, nothing came after)
// is published again by the reconciler and delivered once; its entry is
// settled. Two nodes run the reconciler: the lease lets one publish.
func TestOwedEventRepublished(t *testing.T) {
	e := newEnv(t)
	h := newHook(t, 0)
	e.putReceiver(receiver.Receiver{Name: "ops", Team: "shop", Kind: receiver.KindWebhook, URL: h.srv.URL})
	at := time.Now().Unix() - 600
	lost := judgeEvent(2, event.Problem, 1, at)
	key := e.owe(lost, time.Now().Add(-time.Minute))
	fresh := judgeEvent(3, event.Problem, 1, at)
	freshKey := e.owe(fresh, time.Now().Add(time.Hour)) // handed over "now": not due
	e.start("a", notify.Options{Publisher: e.prod, OwedAfter: 300 * time.Millisecond})
	e.start("b", notify.Options{Publisher: e.prod, OwedAfter: 300 * time.Millisecond})
	waitDelivered(t, h, map[string]bool{receiver.IdempotencyKey(lost.ID, alarm.StepKey(lost), "ops"): true}, 30*time.Second)
	e.waitSettled(key)
	if keys, most := h.delivered(); keys != 1 || most != 1 {
		t.Fatalf("%d keys delivered, at most %d times each; want 1 once", keys, most)
	}
	if _, err := e.st.Get(context.Background(), freshKey); err != nil {
		t.Fatalf("an event owed for less than OwedAfter was touched: %v", err)
	}
}

// A PROBLEM whose case step was written by a delivery that died before
// its claims (the case holds it, nothing was sent) and that is still owed
// is dispatched when the OK after it comes, before its entry is settled:
// the receiver gets the firing, then the resolution. (The owed PROBLEM
// applied as a no-op used to be settled with nothing dispatched: only the
// resolution went out, and the entry that could have recovered it was
// gone.)
func TestOwedEventWrittenButNotClaimedIsSent(t *testing.T) {
	e := newEnv(t)
	h := newHook(t, 0)
	e.putReceiver(receiver.Receiver{Name: "ops", Team: "shop", Kind: receiver.KindWebhook, URL: h.srv.URL})
	at := time.Now().Unix() - 600
	problem, ok := judgeEvent(4, event.Problem, 1, at), judgeEvent(4, event.OK, 1, at+60)
	// The first delivery of the PROBLEM wrote its case, then died.
	c, changes := alarm.Apply(alarm.Case{}, problem)
	if len(changes) == 0 {
		t.Fatal("the PROBLEM changed nothing on an empty case")
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.Put(context.Background(), wire.CaseKey(problem.ID), b, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	lost := e.owe(problem, time.Now())
	okKey := e.owe(ok, time.Now())
	e.start("a", notify.Options{OwedAfter: -1}) // no reconciler: only the OK comes
	e.publishEvents(ok)
	want := map[string]bool{
		receiver.IdempotencyKey(problem.ID, alarm.StepKey(problem), "ops"): true,
		receiver.IdempotencyKey(ok.ID, alarm.StepKey(ok), "ops"):           true,
	}
	waitDelivered(t, h, want, 30*time.Second)
	e.waitSettled(lost)
	e.waitSettled(okKey)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.payloads) != 2 || h.payloads[0].Status != "firing" || h.payloads[1].Status != "resolved" {
		t.Fatalf("payloads %+v, want firing then resolved", h.payloads)
	}
}

// An owed event notify never records (here: a body it cannot read, which
// it dead-letters) is published again with back-off only until the
// expiry its entry was written with: the reconciler keeps that expiry
// (it used to write a fresh 24 h one with every republish, so the event
// went out for ever).
func TestOwedEventNeverRecordedExpires(t *testing.T) {
	e := newEnv(t)
	val, err := wire.EncodeOwed([]byte(`{"id":"s_9_unreadable"}`), time.Now().Add(-time.Minute), 0)
	if err != nil {
		t.Fatal(err)
	}
	key := wire.OwedKey("s_9_unreadable", "PROBLEM.1.1")
	if _, err := e.st.Put(context.Background(), key, val, store.PutOptions{TTL: 4 * time.Second}); err != nil {
		t.Fatal(err)
	}
	e.start("a", notify.Options{Publisher: e.prod, OwedAfter: 200 * time.Millisecond})
	testenv.Eventually(t, 10*time.Second, func() error {
		ent, err := e.st.Get(context.Background(), key)
		if err != nil {
			return err
		}
		o, err := wire.DecodeOwed(ent.Value)
		if err != nil || o.Republished < 1 {
			return fmt.Errorf("not republished yet (%v)", err)
		}
		if ent.ExpiresAt.IsZero() || time.Until(ent.ExpiresAt) > 5*time.Second {
			t.Fatalf("a republish reset the entry's expiry to %v", ent.ExpiresAt)
		}
		return nil
	})
	testenv.Eventually(t, 15*time.Second, func() error {
		if _, err := e.st.Get(context.Background(), key); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("still owed (%v)", err)
		}
		return nil
	})
}
