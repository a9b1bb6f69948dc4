package judge

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/redisstore"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/event"
	mjudge "github.com/wharfhq/wharf/monitoring/judge"
)

func TestRecordRoundTripAndTruncation(t *testing.T) {
	rec := record{Shard: 3, State: mjudge.State{Endpoint: "web-1", Metric: "cpu", Tags: map[string]string{"a": "b"}, Step: 60,
		Points: []mjudge.Sample{{T: 60, V: 1}}, Last: mjudge.LastEvent{Status: event.Problem, Step: 1, Time: 60}},
		Pending: [][]byte{[]byte(`{"version":1}`)}, FP: 7, Source: []byte(`{"id":"cpu"}`)}
	b, err := appendRecord(nil, &rec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeRecord(b)
	if err != nil || got.Shard != 3 || got.State.Last != rec.State.Last || len(got.Pending) != 1 || string(got.Pending[0]) != `{"version":1}` ||
		got.FP != 7 || string(got.Source) != `{"id":"cpu"}` {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for n := range len(b) {
		if _, err := decodeRecord(b[:n]); err == nil {
			t.Fatalf("truncated at %d decoded", n)
		}
	}
	if _, err := decodeRecord(append(b, 0)); err == nil {
		t.Fatal("trailing byte decoded")
	}
}

// A judge that wrote state and events but stopped before publishing the
// events: the next load publishes them, once.
func TestPendingEventsHandedOverOnLoad(t *testing.T) {
	redis, nsqd := testenv.StartRedis(t), testenv.StartNSQD(t)
	ctx := context.Background()
	st, err := redisstore.Open(ctx, redisstore.Options{Addr: redis.Addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	p, err := bus.NewProducer(bus.ProducerOptions{Addrs: []string{nsqd.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	got := make(chan string, 4)
	c, err := bus.NewConsumer(bus.ConsumerOptions{Topic: wire.AlarmsTopic, Channel: "t", NSQDAddrs: []string{nsqd.Addr},
		Handler: func(_ context.Context, m *bus.Message) error { got <- string(m.Body); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })

	j, err := New(Options{Store: st, Publisher: p, NSQDAddrs: []string{nsqd.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := appendRecord(nil, &record{Shard: 0, State: mjudge.State{Endpoint: "web-1", Metric: "cpu.busy", Step: 60},
		Pending: [][]byte{[]byte(`{"version":1,"id":"x"}`)}})
	if err != nil {
		t.Fatal(err)
	}
	key := StatePrefix + "x"
	if _, err := st.Put(ctx, key, b, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		rec, _, err := j.load(ctx, key, 0)
		if err != nil || len(rec.Pending) != 0 {
			t.Fatalf("load: %+v %v", rec, err)
		}
	}
	select {
	case body := <-got:
		if body != `{"version":1,"id":"x"}` {
			t.Fatalf("handed over %s", body)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("pending event never published")
	}
	if e, err := st.Get(ctx, key); err != nil {
		t.Fatal(err)
	} else if rec, err := decodeRecord(e.Value); err != nil || len(rec.Pending) != 0 {
		t.Fatalf("stored record still pending: %+v %v", rec, err)
	}
	if j.Events() != 1 {
		t.Fatalf("handed over %d events, want 1", j.Events())
	}

	// A dropped state (deleted or changed strategy) kept only for its
	// events is deleted once they are published.
	b, err = appendRecord(nil, &record{Shard: 0, Pending: [][]byte{[]byte(`{"version":1,"id":"y"}`)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, StatePrefix+"y", b, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := j.load(ctx, StatePrefix+"y", 0); err != nil {
		t.Fatal(err)
	}
	if body := <-got; body != `{"version":1,"id":"y"}` {
		t.Fatalf("published %s", body)
	}
	if _, err := st.Get(ctx, StatePrefix+"y"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the dropped state is still stored: %v", err)
	}
}
