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
	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/monitoring/labels"
	"github.com/wharfhq/wharf/monitoring/receiver"
	"github.com/wharfhq/wharf/runner/notify"
)

// The tests of when messages go out: Falcon's combining, storm control,
// grouping and group_interval.

// Priority 3–6 steps on a route without group_by go to a receiver
// combined: one message with the steps that came due together, at most
// one message per combine interval; every step once.
func TestFalconCombine(t *testing.T) {
	e := newEnv(t)
	h := newHook(t, 0)
	e.putReceiver(receiver.Receiver{Name: "ops", Team: "shop", Kind: receiver.KindWebhook, URL: h.srv.URL})
	e.start("a", notify.Options{CombineInterval: 5 * time.Second})
	at := time.Now().Unix() - 600
	var evs []event.Event
	for i := range 5 {
		ev := judgeEvent(i, event.Problem, 1, at)
		ev.Priority = 4
		evs = append(evs, ev)
	}
	e.publishEvents(evs...)
	var alerts int
	testenv.Eventually(t, 30*time.Second, func() error {
		h.mu.Lock()
		defer h.mu.Unlock()
		alerts = 0
		for _, p := range h.payloads {
			alerts += len(p.Alerts)
		}
		if alerts < 5 {
			return fmt.Errorf("%d of 5 steps delivered", alerts)
		}
		return nil
	})
	h.mu.Lock()
	msgs := len(h.payloads)
	seen := map[string]bool{}
	for _, p := range h.payloads {
		for _, a := range p.Alerts {
			if seen[a.Fingerprint] {
				t.Errorf("step of %s sent twice", a.Labels["endpoint"])
			}
			seen[a.Fingerprint] = true
		}
	}
	h.mu.Unlock()
	if alerts != 5 || msgs > 2 {
		t.Fatalf("%d steps in %d messages, want 5 in at most 2 (the first step, then the rest after the interval)", alerts, msgs)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		for _, ev := range evs {
			ok := false
			for _, en := range e.readCase(ev.ID).History {
				ok = ok || (en.Kind == alarm.EntryCombined && en.Result == "200")
			}
			if !ok {
				return fmt.Errorf("case %s has no combined entry", ev.ID)
			}
		}
		return nil
	})
}

// Storm control: beyond storm_limit messages per storm_interval a
// receiver gets the rest as one digest "N more" when the window closes;
// the folded steps are recorded, none is dropped silently.
func TestStormDigest(t *testing.T) {
	e := newEnv(t)
	h := newHook(t, 0)
	e.putReceiver(receiver.Receiver{Name: "ops", Team: "shop", Kind: receiver.KindWebhook, URL: h.srv.URL, StormLimit: 2, StormInterval: "1s"})
	e.start("a", notify.Options{})
	at := time.Now().Unix() - 600
	var evs []event.Event
	for i := range 5 {
		evs = append(evs, judgeEvent(i, event.Problem, 1, at))
	}
	e.publishEvents(evs...)
	testenv.Eventually(t, 30*time.Second, func() error {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, p := range h.payloads {
			if p.CommonAnnotations["summary"] == "3 more" && len(p.Alerts) == 3 {
				return nil
			}
		}
		return fmt.Errorf("no digest among %d messages", len(h.payloads))
	})
	h.mu.Lock()
	if n := len(h.payloads); n != 3 {
		t.Fatalf("%d messages, want 2 and the digest", n)
	}
	h.mu.Unlock()
	folded := 0
	for _, ev := range evs {
		if c := e.claim(receiver.IdempotencyKey(ev.ID, alarm.StepKey(ev), "ops")); c.State == wire.ClaimFolded {
			folded++
		}
	}
	if folded != 3 {
		t.Fatalf("%d folded claims, want 3", folded)
	}
}

// Posted alerts of one group key that come due together (group_wait) go
// to the receiver as one message listing them, each step claimed once.
func TestPostedAlertsGrouped(t *testing.T) {
	e := newEnv(t)
	h := newHook(t, 0)
	e.putReceiver(receiver.Receiver{Name: "chat", Team: "shop", Kind: receiver.KindWebhook, URL: h.srv.URL})
	e.putRoute("shop", amroute.Config{Receiver: "chat", GroupBy: []string{"alertname"}, GroupWait: "2s"})
	e.start("a", notify.Options{})
	now := time.Now()
	var alerts []alarm.PostedAlert
	for i := range 3 {
		alerts = append(alerts, alarm.PostedAlert{Labels: labels.Set{"alertname": "Down", "team": "shop", "instance": fmt.Sprintf("db-%d", i)}, StartsAt: now})
	}
	b, _ := json.Marshal(wire.Posted{Version: wire.PostedVersion, ReceivedAt: now, By: "prometheus", Alerts: alerts})
	if err := e.prod.Publish(context.Background(), wire.PostedTopic, b); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		h.mu.Lock()
		defer h.mu.Unlock()
		if len(h.payloads) == 0 {
			return fmt.Errorf("no message yet")
		}
		return nil
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.payloads[0]
	if len(h.payloads) != 1 || len(p.Alerts) != 3 || p.Status != "firing" || p.CommonLabels["alertname"] != "Down" || p.GroupKey != `{}:{alertname="Down"}` {
		t.Fatalf("%d messages, first %+v", len(h.payloads), p)
	}
}

// A group's next message waits for group_interval after its last one:
// alerts of the group that fire meanwhile go out together then.
func TestGroupInterval(t *testing.T) {
	e := newEnv(t)
	h := newHook(t, 0)
	e.putReceiver(receiver.Receiver{Name: "chat", Team: "shop", Kind: receiver.KindWebhook, URL: h.srv.URL})
	e.putRoute("shop", amroute.Config{Receiver: "chat", GroupBy: []string{"alertname"}, GroupWait: "10ms", GroupInterval: "3s"})
	e.start("a", notify.Options{})
	post := func(instance string) {
		now := time.Now()
		a := alarm.PostedAlert{Labels: labels.Set{"alertname": "Down", "team": "shop", "instance": instance}, StartsAt: now}
		b, _ := json.Marshal(wire.Posted{Version: wire.PostedVersion, ReceivedAt: now, By: "prometheus", Alerts: []alarm.PostedAlert{a}})
		if err := e.prod.Publish(context.Background(), wire.PostedTopic, b); err != nil {
			t.Fatal(err)
		}
	}
	messages := func(n int) []receiver.Payload {
		var out []receiver.Payload
		testenv.Eventually(t, 20*time.Second, func() error {
			h.mu.Lock()
			defer h.mu.Unlock()
			if len(h.payloads) < n {
				return fmt.Errorf("%d of %d messages", len(h.payloads), n)
			}
			out = append([]receiver.Payload(nil), h.payloads...)
			return nil
		})
		return out
	}
	post("db-0")
	messages(1)
	post("db-1")
	post("db-2")
	got := messages(2)
	if len(got) != 2 || len(got[1].Alerts) != 2 {
		t.Fatalf("%d messages, the second with %d alerts (want both new ones together after group_interval)", len(got), len(got[1].Alerts))
	}
}

// repeat_interval: a grouped firing step is sent again while its case
// still fires at that step; once it resolved the pending repeat is
// settled without a send.
func TestRepeatInterval(t *testing.T) {
	e := newEnv(t)
	h := newHook(t, 0)
	e.putReceiver(receiver.Receiver{Name: "chat", Team: "shop", Kind: receiver.KindWebhook, URL: h.srv.URL})
	e.putRoute("shop", amroute.Config{Receiver: "chat", GroupBy: []string{"alertname"}, GroupWait: "10ms", GroupInterval: "100ms", RepeatInterval: "1s"})
	e.start("a", notify.Options{})
	ls := labels.Set{"alertname": "Down", "team": "shop"}
	start := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	post := func(a alarm.PostedAlert) {
		b, _ := json.Marshal(wire.Posted{Version: wire.PostedVersion, ReceivedAt: time.Now(), By: "prometheus", Alerts: []alarm.PostedAlert{a}})
		if err := e.prod.Publish(context.Background(), wire.PostedTopic, b); err != nil {
			t.Fatal(err)
		}
	}
	post(alarm.PostedAlert{Labels: ls, StartsAt: start})
	id := alarm.PostedCaseID(ls)
	step := "firing." + fmt.Sprint(start.UnixMilli())
	waitClaim := func(stepKey, state string) {
		t.Helper()
		testenv.Eventually(t, 20*time.Second, func() error {
			if c := e.claim(receiver.IdempotencyKey(id, stepKey, "chat")); c.State != state {
				return fmt.Errorf("claim of %s is %q, want %s", stepKey, c.State, state)
			}
			return nil
		})
	}
	waitClaim(step, wire.ClaimSent)
	waitClaim("repeat.1."+step, wire.ClaimSent)
	waitClaim("repeat.2."+step, wire.ClaimQueued)
	end := time.Now().Add(-time.Second).Truncate(time.Millisecond)
	post(alarm.PostedAlert{Labels: ls, StartsAt: start, EndsAt: end})
	waitClaim("repeat.2."+step, wire.ClaimSkipped)
	waitClaim("resolved."+fmt.Sprint(end.UnixMilli()), wire.ClaimSent)
	h.mu.Lock()
	defer h.mu.Unlock()
	var statuses []string
	for _, p := range h.payloads {
		statuses = append(statuses, p.Status)
	}
	if fmt.Sprint(statuses) != "[firing firing resolved]" {
		t.Fatalf("messages %v, want the firing, its repeat and the resolution", statuses)
	}
}
