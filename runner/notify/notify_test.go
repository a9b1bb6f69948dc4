package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/alarm"
	"github.com/wharfhq/wharf/monitoring/amroute"
	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/monitoring/labels"
	"github.com/wharfhq/wharf/monitoring/receiver"
	"github.com/wharfhq/wharf/monitoring/silence"
	"github.com/wharfhq/wharf/runner/notify"
)

// phase publishes one step of cases from..to-1 (each event twice, as NSQ
// may redeliver) and returns the keys of the deliveries to rcv it must
// make. Steps of one case are published one phase after the other, as
// the judge sends them (an event older than the case's latest is a
// no-op by design).
func phase(e *env, from, to int, status event.Status, step int, at int64, rcv string) map[string]bool {
	keys := map[string]bool{}
	var evs []event.Event
	for i := from; i < to; i++ {
		ev := judgeEvent(i, status, step, at)
		evs = append(evs, ev, ev)
		keys[receiver.IdempotencyKey(ev.ID, alarm.StepKey(ev), rcv)] = true
	}
	e.publishEvents(evs...)
	return keys
}

func waitDelivered(t *testing.T, h *hook, want map[string]bool, timeout time.Duration) {
	t.Helper()
	testenv.Eventually(t, timeout, func() error {
		h.mu.Lock()
		defer h.mu.Unlock()
		missing := 0
		for k := range want {
			if h.ok[k] == 0 {
				missing++
			}
		}
		if missing > 0 {
			return fmt.Errorf("%d of %d deliveries not received", missing, len(want))
		}
		return nil
	})
}

// Two notify nodes on one Redis and one nsqd: every (case, step) reaches
// the receiver exactly once, also when one node stops (or is killed)
// half-way.
func TestTwoNodesExactlyOnce(t *testing.T) {
	for _, how := range []string{"stop", "kill"} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t)
			h := newHook(t, 0)
			e.putReceiver(receiver.Receiver{Name: "ops", Team: "shop", Kind: receiver.KindWebhook, URL: h.srv.URL})
			a := e.start("a", notify.Options{})
			e.start("b", notify.Options{})
			at := time.Now().Unix() - 600 // event times are point times, in the past
			all := map[string]bool{}
			run := func(status event.Status, step int, at int64, stopA bool) {
				keys := phase(e, 0, 30, status, step, at, "ops")
				if stopA { // mid-way: deliveries of this phase are in flight
					if how == "kill" {
						a.kill()
					} else {
						a.stop()
					}
				}
				waitDelivered(t, h, keys, 30*time.Second)
				maps.Copy(all, keys)
			}
			run(event.Problem, 1, at, false)
			run(event.Problem, 2, at+60, true)
			run(event.OK, 1, at+120, false)
			keys, most := h.delivered()
			if keys != len(all) {
				t.Fatalf("%d keys delivered, want %d", keys, len(all))
			}
			// A killed node may have had its 2xx answer and died before
			// recording it: the next node sends again with the same
			// Idempotency-Key (the one documented window). Stopped, never.
			if most != 1 && (how == "stop" || most > 2) {
				t.Fatalf("a key was delivered %d times", most)
			}
			first := all
			for k := range first {
				if c := e.claim(k); c.State != wire.ClaimSent {
					t.Fatalf("claim %s is %q, want sent", k, c.State)
				}
			}
		})
	}
}

// A receiver failing 3 times then answering gets the step once, with the
// same Idempotency-Key on every attempt; the history has every attempt.
func TestRetryThenOK(t *testing.T) {
	e := newEnv(t)
	h := newHook(t, 3)
	e.putReceiver(receiver.Receiver{Name: "ops", Team: "shop", Kind: receiver.KindWebhook, URL: h.srv.URL})
	e.start("a", notify.Options{})
	ev := judgeEvent(1, event.Problem, 1, time.Now().Unix())
	e.publishEvents(ev)
	key := receiver.IdempotencyKey(ev.ID, alarm.StepKey(ev), "ops")
	waitDelivered(t, h, map[string]bool{key: true}, 20*time.Second)
	if n := h.requestsOf(key); n != 4 {
		t.Fatalf("%d requests with the key, want 4 (3 failed, 1 ok)", n)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		c := e.readCase(ev.ID)
		var failed, notified int
		for _, en := range c.History {
			switch en.Kind {
			case alarm.EntryFailed:
				failed++
				if en.Result != "HTTP 503" || en.Receiver != "ops" || en.Via != "webhook" {
					return fmt.Errorf("failed entry %+v", en)
				}
			case alarm.EntryNotified:
				notified++
				if en.Attempt != 4 || en.Result != "200" {
					return fmt.Errorf("notified entry %+v", en)
				}
			}
		}
		if failed != 3 || notified != 1 {
			return fmt.Errorf("history has %d failed, %d notified: %+v", failed, notified, c.History)
		}
		return nil
	})
}

// A receiver that is down for a while gets everything afterwards, once.
func TestReceiverDownThenUp(t *testing.T) {
	e := newEnv(t)
	h := newHook(t, 0)
	h.down.Store(true)
	e.putReceiver(receiver.Receiver{Name: "ops", Team: "shop", Kind: receiver.KindWebhook, URL: h.srv.URL})
	e.start("a", notify.Options{})
	e.start("b", notify.Options{})
	want := phase(e, 0, 10, event.Problem, 1, time.Now().Unix(), "ops")
	testenv.Eventually(t, 20*time.Second, func() error {
		for k := range want {
			if h.requestsOf(k) < 2 {
				return fmt.Errorf("not every delivery was tried twice yet")
			}
		}
		return nil
	})
	h.down.Store(false)
	waitDelivered(t, h, want, 20*time.Second)
	if keys, most := h.delivered(); keys != len(want) || most != 1 {
		t.Fatalf("%d keys delivered (want %d), at most %d times each (want 1)", keys, len(want), most)
	}
}

// A delivery failing beyond the retry budget is dead — recorded in the
// dead list, its claim and the case history — never dropped silently.
func TestDeadAfterBudget(t *testing.T) {
	e := newEnv(t)
	h := newHook(t, 1<<30)
	e.putReceiver(receiver.Receiver{Name: "ops", Team: "shop", Kind: receiver.KindWebhook, URL: h.srv.URL})
	e.start("a", notify.Options{RetryBudget: 300 * time.Millisecond})
	ev := judgeEvent(1, event.Problem, 1, time.Now().Unix())
	e.publishEvents(ev)
	key := receiver.IdempotencyKey(ev.ID, alarm.StepKey(ev), "ops")
	testenv.Eventually(t, 20*time.Second, func() error {
		if _, err := e.st.Get(context.Background(), wire.DeadKey("shop", key)); err != nil {
			return fmt.Errorf("no dead record: %w", err)
		}
		if c := e.claim(key); c.State != wire.ClaimDead || c.Result != "HTTP 503" {
			return fmt.Errorf("claim %+v", c)
		}
		for _, en := range e.readCase(ev.ID).History {
			if en.Kind == alarm.EntryDead {
				return nil
			}
		}
		return fmt.Errorf("no dead entry in the history")
	})
}

// A silence added after the delivery was queued but before it was sent
// stops it, and the claim and the case history record it.
func TestSilenceBeforeSend(t *testing.T) {
	e := newEnv(t)
	h := newHook(t, 0)
	e.putReceiver(receiver.Receiver{Name: "ops", Team: "shop", Kind: receiver.KindWebhook, URL: h.srv.URL})
	e.putRoute("shop", amroute.Config{Receiver: "ops", GroupBy: []string{"alertname"}, GroupWait: "3s"})
	e.start("a", notify.Options{})
	ev := judgeEvent(1, event.Problem, 1, time.Now().Unix())
	e.publishEvents(ev)
	key := receiver.IdempotencyKey(ev.ID, alarm.StepKey(ev), "ops")
	testenv.Eventually(t, 10*time.Second, func() error {
		if c := e.claim(key); c.State != wire.ClaimQueued {
			return fmt.Errorf("claim is %q, want queued", c.State)
		}
		return nil
	})
	ms, err := labels.ParseMatchers(`team="shop",endpoint="host1"`)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	e.putJSON(wire.SilenceKey("s1"), map[string]any{
		"id": "s1", "matchers": ms, "startsAt": now.Add(-time.Minute), "endsAt": now.Add(time.Hour),
		"createdBy": "alice", "comment": "maintenance", "team": "shop",
	})
	testenv.Eventually(t, 20*time.Second, func() error {
		c := e.claim(key)
		if c.State != wire.ClaimSilenced || c.Result != "s1" {
			return fmt.Errorf("claim %+v", c)
		}
		for _, en := range e.readCase(ev.ID).History {
			if en.Kind == alarm.EntrySilenced && en.Note == "s1" && en.Receiver == "ops" {
				return nil
			}
		}
		return fmt.Errorf("no silenced entry in the history")
	})
	if n := h.requestsOf(key); n != 0 {
		t.Fatalf("the silenced step was sent %d times", n)
	}
	var s silence.Silence // the stored form decodes as the API's silence
	ent, _ := e.st.Get(context.Background(), wire.SilenceKey("s1"))
	if err := json.Unmarshal(ent.Value, &s); err != nil || s.ID != "s1" {
		t.Fatalf("silence %+v: %v", s, err)
	}
}

// Alerts posted as by Prometheus (through alarms.posted) reach the
// webhook as Alertmanager v4 payloads, firing then resolved, signed.
func TestPostedFiringAndResolved(t *testing.T) {
	e := newEnv(t)
	h := newHook(t, 0)
	e.putReceiver(receiver.Receiver{Name: "chat", Team: "shop", Kind: receiver.KindWebhook, URL: h.srv.URL, SecretRef: "k"})
	if _, err := e.st.Put(context.Background(), wire.SecretKey("shop", "k"), []byte("s3cret"), storePut()); err != nil {
		t.Fatal(err)
	}
	e.putRoute("shop", amroute.Config{Receiver: "chat", GroupBy: []string{"alertname"}, GroupWait: "10ms", GroupInterval: "1s"})
	e.start("a", notify.Options{ExternalURL: "http://wharf.test"})
	ls := labels.Set{"alertname": "HighLatency", "team": "shop", "severity": "page"}
	post := func(a alarm.PostedAlert) {
		b, _ := json.Marshal(wire.Posted{Version: wire.PostedVersion, ReceivedAt: time.Now(), By: "prometheus", Alerts: []alarm.PostedAlert{a}})
		if err := e.prod.Publish(context.Background(), wire.PostedTopic, b); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	post(alarm.PostedAlert{Labels: ls, StartsAt: start, GeneratorURL: "http://prom/graph"})
	post(alarm.PostedAlert{Labels: ls, StartsAt: start, GeneratorURL: "http://prom/graph"}) // re-sent each evaluation: no new step
	testenv.Eventually(t, 10*time.Second, func() error {
		if k, _ := h.delivered(); k != 1 {
			return fmt.Errorf("%d deliveries", k)
		}
		return nil
	})
	post(alarm.PostedAlert{Labels: ls, StartsAt: start, EndsAt: time.Now().Add(-time.Second)})
	testenv.Eventually(t, 10*time.Second, func() error {
		if k, _ := h.delivered(); k != 2 {
			return fmt.Errorf("%d deliveries", k)
		}
		return nil
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, want := range []string{"firing", "resolved"} {
		p := h.payloads[i]
		if p.Version != "4" || p.Status != want || p.Receiver != "chat" || len(p.Alerts) != 1 || p.ExternalURL != "http://wharf.test" {
			t.Fatalf("payload %d: %+v", i, p)
		}
		a := p.Alerts[0]
		if a.Status != want || a.Labels["alertname"] != "HighLatency" || !a.StartsAt.Equal(start) || a.Fingerprint != ls.FingerprintString() {
			t.Fatalf("alert %d: %+v", i, a)
		}
		if p.GroupKey != `{}:{alertname="HighLatency"}` || p.GroupLabels["alertname"] != "HighLatency" {
			t.Fatalf("group of payload %d: %q %v", i, p.GroupKey, p.GroupLabels)
		}
		if sig := h.headers[i].Get(receiver.HeaderSignature); sig == "" {
			t.Fatalf("payload %d unsigned", i)
		}
	}
	if a := h.payloads[1].Alerts[0]; a.EndsAt.IsZero() {
		t.Fatalf("resolved alert without endsAt: %+v", a)
	}
}

// Bad messages on both topics (not JSON, an event without an id, a posted
// alert without labels) neither stop the runner nor take good ones with
// them: the valid event and the valid posted alert of the same request
// are delivered.
func TestBadInputLosesNothing(t *testing.T) {
	e := newEnv(t)
	h := newHook(t, 0)
	e.putReceiver(receiver.Receiver{Name: "ops", Team: "shop", Kind: receiver.KindWebhook, URL: h.srv.URL})
	e.start("a", notify.Options{})
	ctx := context.Background()
	for _, body := range []string{`not json`, `{"version":1,"status":"PROBLEM"}`, `{"version":1,"id":"s_1_x","status":"BOGUS","current_step":1}`, `[]`} {
		if err := e.prod.Publish(ctx, "alarms", []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.prod.Publish(ctx, wire.PostedTopic, []byte(`{"version":1,"alerts":"nope"}`)); err != nil {
		t.Fatal(err)
	}
	good := alarm.PostedAlert{Labels: labels.Set{"alertname": "Up", "team": "shop"}}
	b, _ := json.Marshal(wire.Posted{Version: 1, ReceivedAt: time.Now(), By: "t", Alerts: []alarm.PostedAlert{{}, good}})
	if err := e.prod.Publish(ctx, wire.PostedTopic, b); err != nil {
		t.Fatal(err)
	}
	ev := judgeEvent(1, event.Problem, 1, time.Now().Unix()-60)
	e.publishEvents(ev)
	want := map[string]bool{receiver.IdempotencyKey(ev.ID, alarm.StepKey(ev), "ops"): true}
	waitDelivered(t, h, want, 20*time.Second)
	testenv.Eventually(t, 20*time.Second, func() error {
		if k, _ := h.delivered(); k != 2 {
			return fmt.Errorf("%d deliveries, want the event's and the posted alert's", k)
		}
		return nil
	})
}

// A receiver that does not answer does not delay another: each receiver
// has its own queue and worker. The template receiver gets its rendered
// body.
func TestSlowReceiverDelaysNoOther(t *testing.T) {
	e := newEnv(t)
	slow, fast := newHook(t, 0), newHook(t, 0)
	slow.gate = make(chan struct{})
	release := sync.OnceFunc(func() { close(slow.gate) })
	t.Cleanup(release) // before the server's Close, which waits for its handlers
	e.putReceiver(receiver.Receiver{Name: "slow", Team: "shop", Kind: receiver.KindWebhook, URL: slow.srv.URL, Timeout: "60s"})
	e.putReceiver(receiver.Receiver{Name: "fast", Team: "shop", Kind: receiver.KindTemplate, URL: fast.srv.URL,
		Body: `{"text": {{json (printf "%s: %d alert(s) of %s" .Status (len .Alerts) .CommonLabels.team)}}}`})
	e.start("a", notify.Options{})
	var want []string
	for i := range 3 {
		ev := judgeEvent(i, event.Problem, 1, time.Now().Unix()-60)
		e.publishEvents(ev)
		want = append(want, receiver.IdempotencyKey(ev.ID, alarm.StepKey(ev), "fast"))
	}
	for _, k := range want {
		waitDelivered(t, fast, map[string]bool{k: true}, 20*time.Second)
	}
	fast.mu.Lock()
	body := string(fast.bodies[0])
	fast.mu.Unlock()
	if body != `{"text": "firing: 1 alert(s) of shop"}` {
		t.Fatalf("template body %s", body)
	}
	if k, _ := slow.delivered(); k != 0 {
		t.Fatalf("the slow receiver answered %d", k)
	}
	release()
	testenv.Eventually(t, 20*time.Second, func() error {
		if k, _ := slow.delivered(); k != 3 {
			return fmt.Errorf("slow receiver has %d of 3", k)
		}
		return nil
	})
}

// Redis restarted while events are consumed and delivered: nothing is
// lost and nothing is delivered twice (the store is append-only fsynced,
// so what it acknowledged survives).
func TestRedisRestartLosesNothing(t *testing.T) {
	e := newEnv(t)
	h := newHook(t, 0)
	e.putReceiver(receiver.Receiver{Name: "ops", Team: "shop", Kind: receiver.KindWebhook, URL: h.srv.URL})
	e.start("a", notify.Options{})
	e.start("b", notify.Options{})
	at := time.Now().Unix() - 600
	want := phase(e, 0, 40, event.Problem, 1, at, "ops")
	e.redis.Restart()
	maps.Copy(want, phase(e, 40, 60, event.Problem, 1, at, "ops"))
	waitDelivered(t, h, want, 60*time.Second)
	if keys, most := h.delivered(); keys != len(want) || most != 1 {
		t.Fatalf("%d keys delivered (want %d), at most %d times each (want 1)", keys, len(want), most)
	}
}

// nsqd restarted while events wait in it: the notify nodes reconnect and
// every step is delivered once.
func TestNSQDRestartLosesNothing(t *testing.T) {
	e := newEnv(t)
	h := newHook(t, 0)
	e.putReceiver(receiver.Receiver{Name: "ops", Team: "shop", Kind: receiver.KindWebhook, URL: h.srv.URL})
	e.start("a", notify.Options{})
	e.start("b", notify.Options{})
	at := time.Now().Unix() - 600
	want := phase(e, 0, 40, event.Problem, 1, at, "ops")
	e.nsqd.Restart()
	testenv.Eventually(t, 30*time.Second, func() error { // the producer reconnects on its next publish
		return e.prod.Publish(context.Background(), "alarms.probe", []byte("x"))
	})
	maps.Copy(want, phase(e, 40, 60, event.Problem, 1, at, "ops"))
	waitDelivered(t, h, want, 60*time.Second)
	if keys, most := h.delivered(); keys != len(want) || most != 1 {
		t.Fatalf("%d keys delivered (want %d), at most %d times each (want 1)", keys, len(want), most)
	}
}
