package abagg

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/ab/wire"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/buntstore"
	"github.com/wharfhq/wharf/internal/testenv"
)

func totals(t *testing.T, st store.Store, team, metric, unit string) wire.Totals {
	t.Helper()
	var tot wire.Totals
	e, err := st.Get(context.Background(), wire.TotalsKey(team, metric, unit))
	if err != nil {
		return tot
	}
	if err := json.Unmarshal(e.Value, &tot); err != nil {
		t.Fatal(err)
	}
	return tot
}

// TestAggregatesPerUnitThroughNSQ: batches published on the events topic
// end as per-unit totals (sum, count, first and last time) per team and
// metric.
func TestAggregatesPerUnitThroughNSQ(t *testing.T) {
	nsqd := testenv.StartNSQD(t)
	st, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	a, err := New(Options{Store: st, NSQDAddrs: []string{nsqd.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	prod, err := bus.NewProducer(bus.ProducerOptions{Addrs: []string{nsqd.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prod.Close() })
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 10 {
		b, _ := json.Marshal(wire.Events{Version: wire.EventsVersion, Team: "shop", Events: []wire.Event{
			{Unit: "u1", Metric: "revenue", Value: 2, TS: t0.Add(time.Duration(i) * time.Minute)},
			{Unit: "u2", Metric: "revenue", Value: 1, TS: t0},
			{Unit: "u1", Metric: "clicks", Value: 1, TS: t0},
		}})
		if err := prod.Publish(context.Background(), wire.EventsTopic, b); err != nil {
			t.Fatal(err)
		}
	}
	// A batch of another team lands under that team only.
	b, _ := json.Marshal(wire.Events{Version: wire.EventsVersion, Team: "bank", Events: []wire.Event{{Unit: "u1", Metric: "revenue", Value: 100, TS: t0}}})
	if err := prod.Publish(context.Background(), wire.EventsTopic, b); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		u1, u2, c := totals(t, st, "shop", "revenue", "u1"), totals(t, st, "shop", "revenue", "u2"), totals(t, st, "shop", "clicks", "u1")
		if u1.Sum != 20 || u1.Count != 10 || u2.Sum != 10 || c.Count != 10 || totals(t, st, "bank", "revenue", "u1").Sum != 100 {
			return fmt.Errorf("totals: %+v %+v %+v", u1, u2, c)
		}
		if !u1.First.Equal(t0) || !u1.Last.Equal(t0.Add(9*time.Minute)) {
			return fmt.Errorf("times: %+v", u1)
		}
		return nil
	})
}

// TestRedeliveryAppliedOnce: a message delivered again after it was
// applied (its FIN lost, say) does not count twice; a broken payload is
// an error (dead-lettered after its attempts), not a panic.
func TestRedeliveryAppliedOnce(t *testing.T) {
	st, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	a, err := New(Options{Store: st, NSQDAddrs: []string{"127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(wire.Events{Version: wire.EventsVersion, Team: "shop", Events: []wire.Event{{Unit: "u1", Metric: "m", Value: 3, TS: time.Now()}}})
	ctx := context.Background()
	for range 3 {
		if err := a.handle(ctx, &bus.Message{ID: "0123456789abcdef", Body: body, Attempts: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if tot := totals(t, st, "shop", "m", "u1"); tot.Sum != 3 || tot.Count != 1 {
		t.Fatalf("applied more than once: %+v", tot)
	}
	// A message that failed after some units were written (the store
	// went away, say) is retried whole: the units written before count
	// once.
	two, _ := json.Marshal(wire.Events{Version: wire.EventsVersion, Team: "shop", Events: []wire.Event{
		{Unit: "a", Metric: "m", Value: 1, TS: time.Now()}, {Unit: "b", Metric: "m", Value: 1, TS: time.Now()}}})
	if err := a.add(ctx, wire.TotalsKey("shop", "m", "a"), "partial0000000001", func(t *wire.Totals) { t.Sum++; t.Count++ }); err != nil {
		t.Fatal(err)
	}
	if err := a.handle(ctx, &bus.Message{ID: "partial0000000001", Body: two, Attempts: 2}); err != nil {
		t.Fatal(err)
	}
	if ta, tb := totals(t, st, "shop", "m", "a"), totals(t, st, "shop", "m", "b"); ta.Count != 1 || tb.Count != 1 {
		t.Fatalf("a retried message counted twice: a %+v, b %+v", ta, tb)
	}
	for _, bad := range []string{`{`, `{"version":9,"team":"shop"}`, `{"version":1}`, `null`} {
		if err := a.handle(ctx, &bus.Message{ID: "x" + bad, Body: []byte(bad)}); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}
