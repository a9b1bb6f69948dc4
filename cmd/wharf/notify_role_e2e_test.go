package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	alarmwire "github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/redisstore"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/alarm"
	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/monitoring/receiver"
)

// TestNotifyRolesDeliverOnceAcrossAKill: two `wharf notify` processes on
// one Redis and nsqd; judge events on the alarms topic reach a webhook,
// one of the nodes is SIGKILLed half-way, and every (case, step) arrives
// — the survivor takes the dead node's queues once their lease expires.
func TestNotifyRolesDeliverOnceAcrossAKill(t *testing.T) {
	redis, nsqd := testenv.StartRedis(t), testenv.StartNSQD(t)
	ctx := context.Background()
	st, err := redisstore.Open(ctx, redisstore.Options{Addr: redis.Addr, Namespace: "wharf"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	var mu sync.Mutex
	ok := map[string]int{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ok[r.Header.Get(receiver.HeaderIdempotencyKey)]++
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)
	// TEST HELPER, TEMPORARY: the receiver goes straight into the store
	// until the receiver API (branch i14/alarmsapi) is merged.
	b, _ := json.Marshal(receiver.Receiver{Name: "ops", Team: "shop", Kind: receiver.KindWebhook, URL: hook.URL})
	if _, err := st.Put(ctx, alarmwire.ReceiverKey("shop", "ops"), b, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}

	env := []string{"WHARF_REDIS_ADDR=" + redis.Addr, "WHARF_NSQ_NSQD=" + nsqd.Addr}
	a := startWharf(t, t.TempDir(), env, roleArgs("notify", allowLoopbackReceivers)...)
	a.waitFor(reRoleInternal, 30*time.Second)
	b2 := startWharf(t, t.TempDir(), env, roleArgs("notify", allowLoopbackReceivers)...)
	b2.waitFor(reRoleInternal, 30*time.Second)

	p, err := bus.NewProducer(bus.ProducerOptions{Addrs: []string{nsqd.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	want := map[string]bool{}
	publish := func(from, to int) {
		var bodies [][]byte
		for i := from; i < to; i++ {
			ev := event.Event{ID: fmt.Sprintf("s_9_%032x", i), Status: event.Problem, CurrentStep: 1, EventTime: time.Now().Unix() - 60,
				StrategyID: "9", Team: "shop", Endpoint: fmt.Sprintf("db-%d", i), Metric: "disk.used", MaxStep: 3}
			body, err := event.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			bodies = append(bodies, body, body)
			want[receiver.IdempotencyKey(ev.ID, alarm.StepKey(ev), "ops")] = true
		}
		if err := p.MultiPublish(ctx, wire.AlarmsTopic, bodies); err != nil {
			t.Fatal(err)
		}
	}
	delivered := func() error {
		mu.Lock()
		defer mu.Unlock()
		for k := range want {
			if ok[k] == 0 {
				return fmt.Errorf("%d of %d delivered", len(ok), len(want))
			}
		}
		return nil
	}
	publish(0, 20)
	testenv.Eventually(t, 30*time.Second, delivered)
	publish(20, 40)
	_ = a.cmd.Process.Kill()
	a.wait(10 * time.Second)
	testenv.Eventually(t, 60*time.Second, delivered)
	mu.Lock()
	defer mu.Unlock()
	if len(ok) != 40 {
		t.Fatalf("%d keys delivered, want 40", len(ok))
	}
	for k, n := range ok {
		// A node killed between the 2xx and its record makes the one
		// documented repeat, with the same key.
		if n > 2 {
			t.Fatalf("key %s delivered %d times", k, n)
		}
	}
}
