package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/redisstore"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/runner/judge"
)

// acceptanceSeries is the number of series the acceptance run pushes.
const acceptanceSeries = 1000

// eventKey is what must arrive exactly once on the alarms topic.
type eventKey struct {
	id     string
	status event.Status
	step   int
	time   int64
}

// TestMonitoringAcceptanceTwoFunctionNodesTwoJudges is issue 13's
// acceptance run on real Redis, nsqd + nsqlookupd and MinIO: two `wharf
// functions` nodes and two `wharf judge` nodes; 1,000 series pushed in the
// Open-Falcon format through both nodes' gateways with an ingest token;
// one judge SIGKILLed while it judges a step in which every series
// recovers. The other judge holds every shard within 15 s of the kill, and
// the alarms topic carries every expected PROBLEM and OK exactly once per
// (id, status, current_step, event_time): none lost, none repeated. Both
// nodes' query APIs answer for the series.
func TestMonitoringAcceptanceTwoFunctionNodesTwoJudges(t *testing.T) {
	ctx := context.Background()
	cl := startCluster(t)
	redis, nsqd, env := cl.redis, cl.nsqd, cl.env
	st, err := redisstore.Open(ctx, redisstore.Options{Addr: redis.Addr, Namespace: "wharf"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })

	// The alarms topic, read on a channel of its own.
	var mu sync.Mutex
	seen := map[eventKey]int{}
	c, err := bus.NewConsumer(bus.ConsumerOptions{Topic: wire.AlarmsTopic, Channel: "acceptance", NSQDAddrs: []string{nsqd.Addr},
		MaxInFlight: 256, Handler: func(_ context.Context, m *bus.Message) error {
			ev, err := event.Unmarshal(m.Body)
			if err != nil {
				t.Errorf("bad event %s: %v", m.Body, err)
				return nil
			}
			mu.Lock()
			seen[eventKey{ev.ID, ev.Status, ev.CurrentStep, ev.EventTime}]++
			mu.Unlock()
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })

	// The shard topics exist, as in a cluster that ran before: a new
	// topic reaches consumers through nsqlookupd at their next poll (15 s).
	for i := range wire.DefaultShards {
		for _, topic := range []string{wire.JudgeTopic(i), wire.SeriesTopic(i)} {
			if r := call(t, "POST", "http://"+nsqd.HTTPAddr+"/topic/create?topic="+topic, "", nil); r.status != 200 {
				t.Fatalf("create topic %s: %d %s", topic, r.status, r.raw)
			}
		}
	}
	f1 := startWharf(t, t.TempDir(), env, roleArgs("functions")...)
	gw1 := f1.waitFor(reRoleHTTP, 60*time.Second)[1]
	admin := f1.waitFor(reToken, 5*time.Second)[1]
	f2 := startWharf(t, t.TempDir(), env, roleArgs("functions")...)
	gw2 := f2.waitFor(reRoleHTTP, 60*time.Second)[1]
	j1 := startWharf(t, t.TempDir(), env, roleArgs("judge")...)
	j1Internal := strings.TrimPrefix(j1.waitFor(reRoleInternal, 30*time.Second)[1], "http://")
	j2 := startWharf(t, t.TempDir(), env, roleArgs("judge")...)
	j2Internal := j2.waitFor(reRoleInternal, 30*time.Second)[1]

	r := call(t, "POST", gw1+"/api/v1/tokens", admin, map[string]any{"name": "falcon-agents", "scopes": []string{"ingest"}})
	if r.status != 201 {
		t.Fatalf("ingest token: %d %s", r.status, r.raw)
	}
	ingest := r.body["token"].(string)
	r = call(t, "POST", gw2+"/api/v1/strategies", admin, map[string]any{"id": "acc-load", "team": "ops", "metric": "acc.load",
		"tags": map[string]string{"suite": "acceptance"}, "func": "all(#1)", "operator": ">", "right_value": 90, "max_step": 1, "priority": 2})
	if r.status != 201 {
		t.Fatalf("strategy: %d %s", r.status, r.raw)
	}

	// Both judges hold shards.
	holders := func() (map[string]string, error) {
		out := map[string]string{}
		for e, err := range store.Entries(ctx, st, judge.LeasePrefix, store.ScanOptions{}) {
			if err != nil {
				return nil, err
			}
			out[strings.TrimPrefix(e.Key, judge.LeasePrefix)] = string(e.Value)
		}
		return out, nil
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		h, err := holders()
		if err != nil || len(h) != wire.DefaultShards {
			return fmt.Errorf("leases %v %v", h, err)
		}
		nodes := map[string]int{}
		for _, n := range h {
			nodes[n]++
		}
		if len(nodes) != 2 {
			return fmt.Errorf("want both judges holding shards: %v", nodes)
		}
		return nil
	})

	base := time.Now().Unix()/60*60 - 600
	at := func(k int) int64 { return base + 60*int64(k) }
	gateways := []string{gw1, gw2}
	// push sends every series' point at step k with value v through both
	// gateways (a series always through the same one), 250 per request.
	push := func(k int, v float64) {
		t.Helper()
		for lo := 0; lo < acceptanceSeries; lo += 250 {
			var b strings.Builder
			b.WriteByte('[')
			for i := lo; i < lo+250; i++ {
				if i > lo {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `{"endpoint":"host-%04d","metric":"acc.load","timestamp":%d,"step":60,"value":%g,"counterType":"GAUGE","tags":"suite=acceptance"}`, i, at(k), v)
			}
			b.WriteByte(']')
			gw := gateways[lo/250%2]
			r := call(t, "POST", gw+"/v1/push", ingest, json.RawMessage(b.String()))
			if r.status != 200 || !strings.Contains(r.raw, `"invalid":0`) {
				t.Fatalf("push step %d via %s: %d %s", k, gw, r.status, r.raw)
			}
		}
	}
	eventID := func(i int) string {
		return event.ID(event.PrefixStrategy, "acc-load", event.PK(fmt.Sprintf("host-%04d", i), "acc.load", map[string]string{"suite": "acceptance"}))
	}
	// want is every event expected so far.
	want := map[eventKey]bool{}
	expect := func(status event.Status, k int) {
		for i := range acceptanceSeries {
			want[eventKey{eventID(i), status, 1, at(k)}] = true
		}
	}
	// arrived waits until every expected event arrived; any other event,
	// or one arriving twice, fails the test.
	arrived := func(what string, timeout time.Duration) {
		t.Helper()
		testenv.Eventually(t, timeout, func() error {
			mu.Lock()
			defer mu.Unlock()
			missing := 0
			for k := range want {
				if seen[k] == 0 {
					missing++
				}
			}
			if missing > 0 {
				return fmt.Errorf("%s: %d of %d expected events missing", what, missing, len(want))
			}
			return nil
		})
		mu.Lock()
		defer mu.Unlock()
		for k, n := range seen {
			if !want[k] {
				t.Errorf("%s: unexpected event %+v", what, k)
			} else if n != 1 {
				t.Errorf("%s: event %+v arrived %d times", what, k, n)
			}
		}
	}

	push(0, 95) // every series fires
	expect(event.Problem, 0)
	arrived("PROBLEM at step 0", 60*time.Second)
	push(1, 97) // still bad: max_step 1 reached, no event
	push(2, 40) // every series recovers, while judge 1 dies
	expect(event.OK, 2)
	_ = j1.cmd.Process.Kill()
	killed := time.Now()
	j1.wait(10 * time.Second)
	testenv.Eventually(t, 15*time.Second, func() error {
		h, err := holders()
		if err != nil || len(h) != wire.DefaultShards {
			return fmt.Errorf("leases %v %v", h, err)
		}
		for shard, n := range h {
			if strings.HasSuffix(n, "@"+j1Internal) {
				return fmt.Errorf("shard %s still held by the killed judge", shard)
			}
		}
		return nil
	})
	t.Logf("the killed judge's shards were taken over %v after the kill", time.Since(killed).Round(100*time.Millisecond))
	arrived("OK at step 2 across the kill", 60*time.Second)
	push(3, 99)
	expect(event.Problem, 3)
	arrived("PROBLEM at step 3", 60*time.Second)
	push(4, 10)
	expect(event.OK, 4)
	arrived("OK at step 4", 60*time.Second)

	// The survivor's metrics say what it did.
	m := call(t, "GET", j2Internal+"/metrics", "", nil).raw
	for _, re := range []string{`(?m)^wharf_judge_shards_held 8$`, `(?m)^wharf_judge_events_total\{status="OK"\} [1-9][0-9]{3}`, `(?m)^wharf_judge_points_total [1-9]`} {
		if !regexp.MustCompile(re).MatchString(m) {
			t.Errorf("judge metrics lack %s", re)
		}
	}

	// Both nodes answer queries for series of every shard.
	for _, gw := range gateways {
		for _, i := range []int{0, 1, 2, 3, 500, 999} {
			q := url.Values{"endpoint": {fmt.Sprintf("host-%04d", i)}, "metric": {"acc.load"}, "tags": {"suite=acceptance"},
				"start": {fmt.Sprint(at(0) - 60)}, "end": {fmt.Sprint(at(4))}, "step": {"60"}}
			r := call(t, "GET", gw+"/api/v1/metrics/query?"+q.Encode(), admin, nil)
			if r.status != 200 || !strings.Contains(r.raw, `"found":true`) {
				t.Fatalf("query host-%04d via %s: %d %.300s", i, gw, r.status, r.raw)
			}
		}
	}
}
