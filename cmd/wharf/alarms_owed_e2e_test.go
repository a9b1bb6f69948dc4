package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	awire "github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/redisstore"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/monitoring/receiver"
)

// owedSeries is the number of series of the owed run; each round of
// points gives one event per series.
const owedSeries = 1000

// owedAfter is notify.owed_after in the owed run: WHARF_ACCEPT_OWED_AFTER
// (0 turns the reconciler off, to count what a SIGKILLed nsqd loses
// without it) or 3s.
func owedAfter(t *testing.T) string {
	if s := os.Getenv("WHARF_ACCEPT_OWED_AFTER"); s != "" {
		return s
	}
	return "3s"
}

// metricValue reads one sample of the metrics text at url (0 when absent).
func metricValue(t *testing.T, url, sample string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\d+)$`).FindStringSubmatch(call(t, "GET", url, "", nil).raw)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestAlarmsOwedAcrossNSQDKill is issue 14's end-to-end guarantee across
// a SIGKILLed nsqd: strategy → `wharf judge` → nsqd (no memory queue,
// every message synced to disk) → `wharf notify` → webhook, on real Redis.
// nsqd is SIGKILLed while the first round's events flow from it to notify
// — the messages it had taken off its disk queue and not yet seen
// finished are gone with it — and started again; two more rounds follow.
// The judge's events stay owed (monitor/alarms/owed/) until notify
// recorded their step, and notify's reconciler publishes the ones left
// owed after notify.owed_after again: the webhook gets every (case, step)
// exactly once, and nothing stays owed.
func TestAlarmsOwedAcrossNSQDKill(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	redis, minio := testenv.StartRedis(t), testenv.StartMinIO(t)
	nsqd := testenv.StartNSQD(t, testenv.NSQDOptions{Args: []string{"--mem-queue-size=0", "--sync-every=1"}})
	env := []string{
		"WHARF_REDIS_ADDR=" + redis.Addr, "WHARF_NSQ_NSQD=" + nsqd.Addr,
		"WHARF_MINIO_ENDPOINT=" + minio.Addr, "WHARF_MINIO_ACCESS_KEY=" + minio.AccessKey, "WHARF_MINIO_SECRET_KEY=" + minio.SecretKey,
	}
	hook := &countingHook{ok: map[string]int{}}
	srv := httptest.NewServer(hook)
	t.Cleanup(srv.Close)
	createAlarmTopics(t, nsqd.HTTPAddr)
	fn := startWharf(t, t.TempDir(), env, roleArgs("functions", allowLoopbackReceivers)...)
	gw := fn.waitFor(reRoleHTTP, 60*time.Second)[1]
	admin := fn.waitFor(reToken, 5*time.Second)[1]
	judgeNode := startWharf(t, t.TempDir(), env, roleArgs("judge")...)
	judgeInternal := judgeNode.waitFor(reRoleInternal, 30*time.Second)[1]
	// Many messages in flight to notify at once, as under load.
	notifyNode := startWharf(t, t.TempDir(), append(env, "WHARF_NSQ_MAX_IN_FLIGHT=200"),
		roleArgs("notify", allowLoopbackReceivers, "--notify-owed-after="+owedAfter(t))...)
	notifyInternal := notifyNode.waitFor(reRoleInternal, 30*time.Second)[1]

	adm := cli{t: t, dir: t.TempDir(), env: []string{"WHARF_SERVER=" + gw, "WHARF_TOKEN=" + admin}}
	adm.ok("receiver", "put", "hook", "--team", "owed", "-f", writeFile(t, "hook.json", fmt.Sprintf(`{"kind":"webhook","url":%q}`, srv.URL)))
	r := call(t, "POST", gw+"/api/v1/strategies", admin, map[string]any{"id": "owed-alarm", "team": "owed", "metric": "owed.alarm",
		"func": "all(#1)", "operator": ">", "right_value": 90, "max_step": 1, "priority": 1})
	if r.status != 201 {
		t.Fatalf("strategy: %d %s", r.status, r.raw)
	}
	tok := call(t, "POST", gw+"/api/v1/tokens", admin, map[string]any{"name": "agents", "scopes": []string{"ingest"}})
	if tok.status != 201 {
		t.Fatalf("ingest token: %d %s", tok.status, tok.raw)
	}
	ingest := tok.body["token"].(string)
	testenv.Eventually(t, 30*time.Second, func() error {
		if metricValue(t, judgeInternal+"/metrics", "wharf_judge_shards_held") != wire.DefaultShards {
			return fmt.Errorf("the judge holds not every shard yet")
		}
		return nil
	})

	base := time.Now().Unix()/60*60 - 600
	want := map[string]string{} // idempotency key: what it is
	// round k pushes every series' point of minute k: a PROBLEM (95) on
	// even rounds, an OK (40) on odd ones, and waits until the judge
	// judged them.
	round := func(k int) {
		t.Helper()
		at := base + 60*int64(k)
		v, status := 95.0, event.Problem
		if k%2 == 1 {
			v, status = 40, event.OK
		}
		for lo := 0; lo < owedSeries; lo += 250 {
			var b strings.Builder
			b.WriteByte('[')
			for i := lo; i < lo+250; i++ {
				if i > lo {
					b.WriteByte(',')
				}
				host := fmt.Sprintf("owed-%04d", i)
				fmt.Fprintf(&b, `{"endpoint":%q,"metric":"owed.alarm","timestamp":%d,"step":60,"value":%g,"counterType":"GAUGE"}`, host, at, v)
				id := event.ID(event.PrefixStrategy, "owed-alarm", event.PK(host, "owed.alarm", nil))
				want[receiver.IdempotencyKey(id, string(status)+".1."+fmt.Sprint(at), "hook")] = fmt.Sprintf("%s %s round %d", host, status, k)
			}
			b.WriteByte(']')
			testenv.Eventually(t, 60*time.Second, func() error { // nsqd may be starting again
				r := call(t, "POST", gw+"/v1/push", ingest, json.RawMessage(b.String()))
				if r.status != 200 || !strings.Contains(r.raw, `"invalid":0`) {
					return fmt.Errorf("push round %d: %d %s", k, r.status, r.raw)
				}
				return nil
			})
		}
		testenv.Eventually(t, 60*time.Second, func() error {
			if got := metricValue(t, judgeInternal+"/metrics", "wharf_judge_points_total"); got < owedSeries*(k+1) {
				return fmt.Errorf("the judge judged %d points, want %d", got, owedSeries*(k+1))
			}
			return nil
		})
	}
	consumed := func() int {
		return metricValue(t, notifyInternal+"/metrics", `wharf_notify_events_total{topic="alarms"}`)
	}

	round(0)
	// nsqd is SIGKILLed once notify has taken a tenth of the round's
	// events: the rest are on nsqd's disk queue or in flight.
	tick := time.NewTicker(2 * time.Millisecond)
	deadline := time.After(60 * time.Second)
	for consumed() < owedSeries/10 {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("notify consumed %d events of %d", consumed(), owedSeries)
		}
	}
	tick.Stop()
	atKill := consumed()
	nsqd.Kill()
	nsqd.Start()
	t.Logf("nsqd SIGKILLed after notify consumed %d of %d events, and started again", atKill, owedSeries)
	round(1)
	round(2)

	testenv.Eventually(t, 120*time.Second, func() error {
		hook.mu.Lock()
		defer hook.mu.Unlock()
		var missing []string
		for k, v := range want {
			if hook.ok[k] == 0 {
				missing = append(missing, v)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("%d of %d (case, step)s not received, e.g. %.300q", len(missing), len(want), missing)
		}
		return nil
	})
	hook.mu.Lock()
	if len(want) != 3*owedSeries || len(hook.ok) != len(want) {
		t.Errorf("%d keys delivered, %d expected, want %d", len(hook.ok), len(want), 3*owedSeries)
	}
	for k, n := range hook.ok {
		if want[k] == "" {
			t.Errorf("unexpected delivery %s", k)
		}
		if n != 1 {
			t.Errorf("%s (%s) delivered %d times", k, want[k], n)
		}
	}
	hook.mu.Unlock()
	republished := metricValue(t, notifyInternal+"/metrics", "wharf_notify_owed_republished_total")
	t.Logf("every one of %d (case, step)s received exactly once; the reconciler published %d owed events again", len(want), republished)

	// Nothing stays owed once every step is recorded.
	st, err := redisstore.Open(ctx, redisstore.Options{Addr: redis.Addr, Namespace: "wharf"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	testenv.Eventually(t, 30*time.Second, func() error {
		p, err := st.List(ctx, awire.OwedPrefix, store.ListOptions{Limit: 10})
		if err != nil {
			return err
		}
		if len(p.Entries) > 0 {
			return fmt.Errorf("%d+ events still owed, e.g. %s", len(p.Entries), p.Entries[0].Key)
		}
		return nil
	})
}
