package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/buntstore"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/monitoring/strategy"
)

// TestServeJudgesPushedPoints: a strategy in serve's store, points pushed
// with `wharf metrics push`, and the judge in serve publishes the PROBLEM
// and then the OK on the alarms topic of the embedded nsqd.
func TestServeJudgesPushedPoints(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	// The strategies API is not there yet: the strategy goes straight into
	// the store before serve opens it.
	st, err := buntstore.Open(buntstore.Options{Path: filepath.Join(data, "store.db")})
	if err != nil {
		t.Fatal(err)
	}
	s := strategy.Strategy{ID: "disk-full", Metric: "disk.used", Tags: map[string]string{"mount": "/data"},
		Func: "all(#1)", Operator: ">", RightValue: 90, MaxStep: 1}
	b, _ := json.Marshal(s)
	if _, err := st.Put(context.Background(), wire.StrategyKey(s.ID), b, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	nsqd := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	p := startWharf(t, dir, nil, "serve", "--gateway-listen", "127.0.0.1:0", "--internal-listen", "127.0.0.1:0",
		"--nsq-embedded-tcp", nsqd, "--nsq-embedded-http", "127.0.0.1:0", "--shutdown-grace", "5s", "--agent-local=false")
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	admin := p.waitFor(reToken, 5*time.Second)[1]

	var mu sync.Mutex
	var alarms []event.Event
	c, err := bus.NewConsumer(bus.ConsumerOptions{Topic: wire.AlarmsTopic, Channel: "test", NSQDAddrs: []string{nsqd},
		Handler: func(_ context.Context, m *bus.Message) error {
			ev, err := event.Unmarshal(m.Body)
			if err != nil {
				t.Errorf("bad event %s: %v", m.Body, err)
				return nil
			}
			mu.Lock()
			alarms = append(alarms, ev)
			mu.Unlock()
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })

	cl := cli{t: t, dir: dir, env: []string{"WHARF_SERVER=" + gw, "WHARF_TOKEN=" + admin}}
	t0 := time.Now().Unix()/60*60 - 300
	push := func(ts int64, v string) {
		cl.ok("metrics", "push", "--endpoint", "db-1", "--metric", "disk.used", "--value", v, "--tags", "mount=/data", "--timestamp", strconv.FormatInt(ts, 10))
	}
	wait := func(n int) []event.Event {
		var out []event.Event
		testenv.Eventually(t, 20*time.Second, func() error {
			mu.Lock()
			defer mu.Unlock()
			if len(alarms) < n {
				return fmt.Errorf("%d of %d alarm events", len(alarms), n)
			}
			out = append(out[:0], alarms...)
			return nil
		})
		return out
	}
	push(t0, "95")
	got := wait(1)
	id := event.ID(event.PrefixStrategy, "disk-full", event.PK("db-1", "disk.used", map[string]string{"mount": "/data"}))
	if e := got[0]; e.ID != id || e.Status != event.Problem || e.CurrentStep != 1 || e.EventTime != t0 || float64(e.LeftValue) != 95 {
		t.Fatalf("first event %+v", e)
	}
	push(t0+60, "50")
	got = wait(2)
	if e := got[1]; e.ID != id || e.Status != event.OK || e.EventTime != t0+60 {
		t.Fatalf("second event %+v", e)
	}
}
