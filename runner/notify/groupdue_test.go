package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/alarm"
	"github.com/wharfhq/wharf/monitoring/amroute"
	"github.com/wharfhq/wharf/monitoring/labels"
	"github.com/wharfhq/wharf/monitoring/receiver"
	"github.com/wharfhq/wharf/runner/notify"
)

// A group message lists only the steps that are due: a step whose claim
// waits for a later time (group_wait, a retry's back-off) stays out even
// when a queue entry of it is due — such an entry is left behind by a
// node that stopped between writing a retry's new entry and deleting the
// old one. The entry moves to the claim's time instead.
func TestGroupMessageListsOnlyDueSteps(t *testing.T) {
	e := newEnv(t)
	h := newHook(t, 0)
	e.putReceiver(receiver.Receiver{Name: "chat", Team: "shop", Kind: receiver.KindWebhook, URL: h.srv.URL})
	e.putRoute("shop", amroute.Config{Receiver: "chat", GroupBy: []string{"alertname"}, GroupWait: "1h", GroupInterval: "10ms"})
	e.start("a", notify.Options{})
	start := time.Now().Truncate(time.Millisecond)
	keys := map[string]string{}
	var alerts []alarm.PostedAlert
	for _, inst := range []string{"db-due", "db-later"} {
		ls := labels.Set{"alertname": "Down", "team": "shop", "instance": inst}
		alerts = append(alerts, alarm.PostedAlert{Labels: ls, StartsAt: start})
		keys[inst] = receiver.IdempotencyKey(alarm.PostedCaseID(ls), "firing."+fmt.Sprint(start.UnixMilli()), "chat")
	}
	b, _ := json.Marshal(wire.Posted{Version: wire.PostedVersion, ReceivedAt: start, By: "prometheus", Alerts: alerts})
	if err := e.prod.Publish(context.Background(), wire.PostedTopic, b); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		for inst, k := range keys {
			if c := e.claim(k); c.State != wire.ClaimQueued {
				return fmt.Errorf("claim of %s is %q, want queued", inst, c.State)
			}
		}
		return nil
	})
	// db-later: its claim is due in an hour, but an entry of it is due now.
	now := time.Now()
	later := e.claim(keys["db-later"])
	stale := wire.QueueKey("shop", "chat", now.Add(-time.Second).UnixMilli(), keys["db-later"])
	e.putJSON(stale, later)
	// db-due: its claim and its entry are due now.
	due := e.claim(keys["db-due"])
	due.NextAt = now
	e.putJSON(wire.ClaimKey(keys["db-due"]), due)
	e.putJSON(wire.QueueKey("shop", "chat", now.Add(-time.Second).UnixMilli(), keys["db-due"]), due)

	testenv.Eventually(t, 20*time.Second, func() error {
		if c := e.claim(keys["db-due"]); c.State != wire.ClaimSent {
			return fmt.Errorf("claim of the due step is %q, want sent", c.State)
		}
		if _, err := e.st.Get(context.Background(), stale); err == nil {
			return fmt.Errorf("the early entry of the later step is still there")
		}
		return nil
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, p := range h.payloads {
		for _, a := range p.Alerts {
			if a.Labels["instance"] != "db-due" {
				t.Fatalf("message %d lists %s, a step not due for an hour", i, a.Labels["instance"])
			}
		}
	}
	if c := e.claim(keys["db-later"]); c.State != wire.ClaimQueued {
		t.Fatalf("the later step's claim is %q, want still queued", c.State)
	}
	later.NextAt = later.NextAt.Truncate(time.Millisecond)
	if _, err := e.st.Get(context.Background(), wire.QueueKey("shop", "chat", later.NextAt.UnixMilli(), keys["db-later"])); err != nil {
		t.Fatalf("the later step has no entry at its due time: %v", err)
	}
}
