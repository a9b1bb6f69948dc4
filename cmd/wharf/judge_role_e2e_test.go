package main

import (
	"context"
	"encoding/json"
	"fmt"
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
	"github.com/wharfhq/wharf/monitoring/metric"
	"github.com/wharfhq/wharf/monitoring/strategy"
	"github.com/wharfhq/wharf/runner/judge"
)

// TestJudgeRolesSplitShardsAndTakeOver: two `wharf judge` processes split
// the shards through leases in Redis; one is killed (no clean shutdown)
// and the other holds every shard within 15 s and judges the dead one's
// points.
func TestJudgeRolesSplitShardsAndTakeOver(t *testing.T) {
	redis, nsqd := testenv.StartRedis(t), testenv.StartNSQD(t)
	ctx := context.Background()
	st, err := redisstore.Open(ctx, redisstore.Options{Addr: redis.Addr, Namespace: "wharf"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	s := strategy.Strategy{ID: "disk-full", Metric: "disk.used", Func: "all(#1)", Operator: ">", RightValue: 90, MaxStep: 1}
	b, _ := json.Marshal(s)
	if _, err := st.Put(ctx, wire.StrategyKey(s.ID), b, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	endpoints := map[string]bool{}
	c, err := bus.NewConsumer(bus.ConsumerOptions{Topic: wire.AlarmsTopic, Channel: "test", NSQDAddrs: []string{nsqd.Addr},
		Handler: func(_ context.Context, m *bus.Message) error {
			ev, err := event.Unmarshal(m.Body)
			if err != nil {
				t.Errorf("bad event %s: %v", m.Body, err)
				return nil
			}
			mu.Lock()
			endpoints[ev.Endpoint] = true
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

	env := []string{"WHARF_REDIS_ADDR=" + redis.Addr, "WHARF_NSQ_NSQD=" + nsqd.Addr, "WHARF_MONITORING_SHARDS=2"}
	a := startWharf(t, t.TempDir(), env, roleArgs("judge")...)
	aInternal := strings.TrimPrefix(a.waitFor(reRoleInternal, 30*time.Second)[1], "http://")
	b2 := startWharf(t, t.TempDir(), env, roleArgs("judge")...)
	b2.waitFor(reRoleInternal, 30*time.Second)

	// holders maps shard -> the node holding its lease.
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
	var aShard string
	testenv.Eventually(t, 20*time.Second, func() error {
		h, err := holders()
		if err != nil || len(h) != 2 || h["0"] == h["1"] {
			return fmt.Errorf("leases %v %v", h, err)
		}
		for shard, node := range h {
			if strings.HasSuffix(node, "@"+aInternal) {
				aShard = shard
			}
		}
		if aShard == "" {
			return fmt.Errorf("judge a (%s) holds no shard: %v", aInternal, h)
		}
		return nil
	})
	_ = a.cmd.Process.Kill()
	a.wait(10 * time.Second)
	killed := time.Now()
	testenv.Eventually(t, 15*time.Second, func() error {
		h, err := holders()
		if err != nil || len(h) != 2 || h["0"] != h["1"] || strings.HasSuffix(h["0"], "@"+aInternal) {
			return fmt.Errorf("leases %v %v", h, err)
		}
		return nil
	})
	t.Logf("shard %s taken over %v after the kill", aShard, time.Since(killed).Round(100*time.Millisecond))

	// Points of both shards are judged by the survivor.
	p, err := bus.NewProducer(bus.ProducerOptions{Addrs: []string{nsqd.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	ts := time.Now().Unix() / 60 * 60
	for i, ep := range []string{"db-0", "db-1"} {
		body := metric.AppendBatch(nil, []metric.Point{{Endpoint: ep, Metric: "disk.used", CounterType: "GAUGE", Step: 60, Time: ts, Value: 95}})
		if err := p.Publish(ctx, wire.JudgeTopic(i), body); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, 15*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if !endpoints["db-0"] || !endpoints["db-1"] {
			return fmt.Errorf("events for %v", endpoints)
		}
		return nil
	})
}
