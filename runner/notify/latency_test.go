package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
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
	"github.com/wharfhq/wharf/runner/notify"
)

// postAlerts publishes Alertmanager-style alerts of team shop, one per
// instance, as the gateway does.
func (e *env) postAlerts(instances ...string) {
	e.t.Helper()
	now := time.Now()
	var alerts []alarm.PostedAlert
	for _, inst := range instances {
		alerts = append(alerts, alarm.PostedAlert{Labels: labels.Set{"alertname": "Down", "team": "shop", "instance": inst}, StartsAt: now})
	}
	b, _ := json.Marshal(wire.Posted{Version: wire.PostedVersion, ReceivedAt: now, By: "prometheus", Alerts: alerts})
	if err := e.prod.Publish(context.Background(), wire.PostedTopic, b); err != nil {
		e.t.Fatal(err)
	}
}

// A delivery that comes due later (here after group_wait) goes out when it
// is due: the node wakes at the earliest due time instead of waiting for
// its next periodic scan (an hour here, so only the wake-up can send it).
func TestDueDeliveryWakesTheNode(t *testing.T) {
	e := newEnv(t)
	h := newHook(t, 0)
	e.putReceiver(receiver.Receiver{Name: "chat", Team: "shop", Kind: receiver.KindWebhook, URL: h.srv.URL})
	e.putRoute("shop", amroute.Config{Receiver: "chat", GroupBy: []string{"alertname"}, GroupWait: "500ms"})
	e.start("a", notify.Options{ScanInterval: time.Hour})
	e.postAlerts("db-1")
	testenv.Eventually(t, 20*time.Second, func() error {
		if k, _ := h.delivered(); k != 1 {
			return fmt.Errorf("%d messages delivered, want 1", k)
		}
		return nil
	})
}

// A failed call is retried at the end of its back-off, not at the next
// periodic scan (an hour here).
func TestRetryWakesTheNode(t *testing.T) {
	e := newEnv(t)
	h := newHook(t, 2)
	e.putReceiver(receiver.Receiver{Name: "ops", Team: "shop", Kind: receiver.KindWebhook, URL: h.srv.URL})
	e.start("a", notify.Options{ScanInterval: time.Hour})
	ev := judgeEvent(1, event.Problem, 1, time.Now().Unix())
	e.publishEvents(ev)
	key := receiver.IdempotencyKey(ev.ID, alarm.StepKey(ev), "ops")
	waitDelivered(t, h, map[string]bool{key: true}, 20*time.Second)
	if n := h.requestsOf(key); n != 3 {
		t.Fatalf("%d requests with the key, want 3 (2 failed, 1 ok)", n)
	}
}

// One receiver's groups do not wait for each other: while the message of
// one group hangs at the receiver, another group's message is delivered.
func TestGroupsOfOneReceiverDoNotWait(t *testing.T) {
	e := newEnv(t)
	hr := newHangingReceiver(t, "db-slow")
	e.putReceiver(receiver.Receiver{Name: "chat", Team: "shop", Kind: receiver.KindWebhook, URL: hr.srv.URL, Timeout: "60s"})
	e.putRoute("shop", amroute.Config{Receiver: "chat", GroupBy: []string{"instance"}, GroupWait: "10ms"})
	e.start("a", notify.Options{})
	e.postAlerts("db-slow")
	select {
	case <-hr.arrived:
	case <-time.After(20 * time.Second):
		t.Fatal("the slow group's message did not arrive")
	}
	e.postAlerts("db-fast")
	testenv.Eventually(t, 20*time.Second, func() error {
		if n := hr.count("db-fast"); n != 1 {
			return fmt.Errorf("db-fast delivered %d times while db-slow hangs, want 1", n)
		}
		return nil
	})
	hr.release()
	testenv.Eventually(t, 20*time.Second, func() error {
		if n := hr.count("db-slow"); n != 1 {
			return fmt.Errorf("db-slow delivered %d times, want 1", n)
		}
		return nil
	})
}

// A group whose step is in flight elsewhere (its claim "sending" until a
// lease passes, as a node that died mid-send leaves it) is sent once the
// lease passed, while another group of the receiver still hangs: the
// worker does not give up on a lane that could do nothing once.
func TestLaneInFlightElsewhereSentAfterItsLease(t *testing.T) {
	e := newEnv(t)
	hr := newHangingReceiver(t, "db-slow")
	e.putReceiver(receiver.Receiver{Name: "chat", Team: "shop", Kind: receiver.KindWebhook, URL: hr.srv.URL, Timeout: "60s"})
	e.putRoute("shop", amroute.Config{Receiver: "chat", GroupBy: []string{"instance"}, GroupWait: "1h"})
	e.start("a", notify.Options{})
	start := time.Now().Truncate(time.Millisecond)
	keys := map[string]string{}
	var alerts []alarm.PostedAlert
	for _, inst := range []string{"db-slow", "db-stuck"} {
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
	now := time.Now()
	// db-stuck: due now, but "sending" by a node that died, for 2 more seconds.
	stuck := e.claim(keys["db-stuck"])
	stuck.State, stuck.Node, stuck.Attempts, stuck.NextAt, stuck.LeaseUntil = wire.ClaimSending, "dead-node", 1, now, now.Add(2*time.Second)
	e.putJSON(wire.ClaimKey(keys["db-stuck"]), stuck)
	e.putJSON(wire.QueueKey("shop", "chat", now.UnixMilli(), keys["db-stuck"]), stuck)
	// db-slow: due now; its message hangs at the receiver.
	slow := e.claim(keys["db-slow"])
	slow.NextAt = now
	e.putJSON(wire.ClaimKey(keys["db-slow"]), slow)
	e.putJSON(wire.QueueKey("shop", "chat", now.UnixMilli(), keys["db-slow"]), slow)
	select {
	case <-hr.arrived:
	case <-time.After(20 * time.Second):
		t.Fatal("the slow group's message did not arrive")
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		if n := hr.count("db-stuck"); n != 1 {
			return fmt.Errorf("db-stuck delivered %d times while db-slow hangs, want 1", n)
		}
		return nil
	})
	if c := e.claim(keys["db-stuck"]); c.State != wire.ClaimSent || c.Attempts != 2 {
		t.Fatalf("db-stuck's claim %q after %d attempts, want sent after 2", c.State, c.Attempts)
	}
	hr.release()
}

// hangingReceiver is a webhook that counts the alerts it got per instance
// label and holds every message holding the hang instance until release
// (arrived says the first came).
type hangingReceiver struct {
	srv     *httptest.Server
	arrived chan struct{}
	release func()
	mu      sync.Mutex
	got     map[string]int
}

func newHangingReceiver(t *testing.T, hang string) *hangingReceiver {
	t.Helper()
	h := &hangingReceiver{arrived: make(chan struct{}, 1), got: map[string]int{}}
	released := make(chan struct{})
	h.release = sync.OnceFunc(func() { close(released) })
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), hang) {
			select {
			case h.arrived <- struct{}{}:
			default:
			}
			<-released
		}
		var p receiver.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("payload is not JSON: %v", err)
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, a := range p.Alerts {
			h.got[a.Labels["instance"]]++
		}
	}))
	t.Cleanup(h.srv.Close)
	t.Cleanup(h.release) // before the server's Close, which waits for its handlers
	return h
}

// count is how many alerts of instance arrived.
func (h *hangingReceiver) count(instance string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.got[instance]
}
